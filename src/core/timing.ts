import { setTimeout as sleep } from "node:timers/promises";

/**
 * Answers that need no hash (unknown username, a password already known to be wrong) must not be
 * told apart from a real verify by their timing, yet must not cost CPU: they wait for a duration
 * drawn from the latencies of recent real verifies, on a timer.
 */
export interface VerifyTiming {
  /** Records how long a real slow-path decision took (queueing included, as the broker saw it). */
  observe(ms: number): void;
  /** Waits like a real verify would have, but never past `deadlineAt` (epoch ms). */
  imitate(deadlineAt: number): Promise<void>;
}

export function createVerifyTiming(opts: {
  initialMs: number;
  samples?: number;
  now?: () => number;
}): VerifyTiming {
  const now = opts.now ?? Date.now;
  const ring: number[] = [opts.initialMs];
  const size = opts.samples ?? 256;
  let next = 0;
  return {
    observe(ms) {
      if (ring.length < size) ring.push(ms);
      else ring[next] = ms;
      next = (next + 1) % size;
    },
    async imitate(deadlineAt) {
      const sample = ring[Math.floor(Math.random() * ring.length)]!;
      const ms = Math.min(sample, deadlineAt - now());
      if (ms > 0) await sleep(ms);
    },
  };
}
