/**
 * Admission control for slow password verifies.
 *
 * argon2 is slow on purpose, so in a connect storm the verifies a machine can do per second are the
 * physical limit. Beyond it, a request that waits longer than the broker's timeout is worse than
 * useless: the broker has already given up, the device retries, and the CPU spent on the late answer
 * is stolen from a request that could still have made it. So: at most `concurrency` verifies run at
 * once (matched to the cores), waiting requests are served in arrival order, and a request that
 * cannot finish before its deadline is shed at once — a prompt "ignore" instead of a late answer.
 */

export const SHED = Symbol("shed");
export type Shed = typeof SHED;

interface Waiter {
  readonly deadlineAt: number;
  readonly start: () => void;
  readonly shed: () => void;
}

export interface AdmissionStats {
  readonly running: number;
  readonly queued: number;
  readonly shed: number;
  /** Smoothed duration of one verify, in ms: what the predictions use. */
  readonly verifyMs: number;
}

export interface Admission {
  /** Runs `job` when a slot frees up, or answers SHED if it cannot finish by `deadlineAt` (epoch ms). */
  run<T>(job: () => Promise<T>, deadlineAt: number): Promise<T | Shed>;
  /** Runs `job` only if a slot is free right now and nobody waits (background work such as rehashing). */
  runIfIdle<T>(job: () => Promise<T>): Promise<T | Shed>;
  stats(): AdmissionStats;
}

export function createAdmission(opts: {
  concurrency: number;
  /** First guess of one verify's duration, before any was measured. */
  initialVerifyMs: number;
  now?: () => number;
}): Admission {
  const now = opts.now ?? Date.now;
  const queue: Waiter[] = [];
  let head = 0; // queue[head..] are waiting; shifting an array of 10,000 is O(n) per call.
  let running = 0;
  let shedCount = 0;
  let verifyMs = opts.initialVerifyMs;

  const waiting = () => queue.length - head;

  /**
   * When a request queued now would finish: it starts at once if a slot is free, else after the
   * waiters ahead of it drain `concurrency` at a time (running verifies are half done on average).
   */
  const predictedFinish = () => {
    const startDelay = running < opts.concurrency ? 0 : (waiting() / opts.concurrency + 0.5) * verifyMs;
    return now() + startDelay + verifyMs;
  };

  const pump = () => {
    while (running < opts.concurrency && head < queue.length) {
      const next = queue[head++]!;
      if (now() + verifyMs > next.deadlineAt) {
        next.shed();
        continue;
      }
      next.start();
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };

  const execute = async <T>(job: () => Promise<T>): Promise<T> => {
    running++;
    const started = now();
    try {
      return await job();
    } finally {
      running--;
      // An exponentially weighted average follows the machine's real speed (and its noisy neighbours).
      verifyMs = verifyMs * 0.9 + Math.max(1, now() - started) * 0.1;
      pump();
    }
  };

  return {
    run(job, deadlineAt) {
      if (predictedFinish() > deadlineAt) {
        shedCount++;
        return Promise.resolve(SHED);
      }
      return new Promise((resolve, reject) => {
        queue.push({
          deadlineAt,
          start: () => execute(job).then(resolve, reject),
          shed: () => {
            shedCount++;
            resolve(SHED);
          },
        });
        pump();
      });
    },

    runIfIdle(job) {
      if (running >= opts.concurrency || waiting() > 0) return Promise.resolve(SHED);
      return execute(job);
    },

    stats() {
      return { running, queued: waiting(), shed: shedCount, verifyMs };
    },
  };
}
