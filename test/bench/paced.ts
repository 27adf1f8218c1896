import type { BrokerPool, Reply } from "./broker-pool.js";
import { percentile } from "./stats.js";
import { resultOf } from "./storm.js";

/**
 * An evenly paced, open-loop stream through the broker's pool: the i-th request is queued at
 * i ÷ rate seconds (checked every millisecond), whatever the answers do, and its latency runs from
 * that moment — the broker's view, queueing in its pool included. autocannon's rate limit is a
 * per-connection quota per second, sent as fast as it can at the start of each second: at "half
 * rate" it is saturated half of every second, and its latencies are those of saturation.
 */

export interface PacedResult {
  readonly sent: number;
  readonly requestsPerSecond: number;
  readonly allowed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers by result (allow, deny, ignore) and failures by kind (late, expired, error). */
  readonly outcomes: Record<string, number>;
}

export function runPaced(
  pool: BrokerPool,
  opts: {
    readonly path: string;
    readonly perSecond: number;
    readonly seconds: number;
    /** At most this many requests (the fleet's size, when each device connects once). */
    readonly max?: number;
    readonly body: (i: number) => string;
  },
): Promise<PacedResult> {
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const total = Math.min(opts.max ?? Infinity, Math.round(opts.perSecond * opts.seconds));
  let sent = 0;
  let answered = 0;
  let allowed = 0;
  const started = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      clearInterval(pacer);
      clearTimeout(safety);
      latencies.sort((a, b) => a - b);
      const elapsed = (performance.now() - started) / 1000;
      resolve({
        sent,
        requestsPerSecond: elapsed > 0 ? answered / elapsed : 0,
        allowed,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        maxMs: latencies.at(-1) ?? 0,
        outcomes,
      });
    };
    const onReply = (reply: Reply) => {
      const key = reply.kind === "answer" ? resultOf(reply.body) : reply.kind;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (reply.kind === "answer" || reply.kind === "late") latencies.push(reply.ms);
      if (key === "allow") allowed++;
      if (++answered === total) finish();
    };
    const pacer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * opts.perSecond));
      while (sent < due) {
        pool.post(opts.path, opts.body(sent), onReply);
        sent++;
      }
      if (sent === total) clearInterval(pacer);
    }, 1);
    const safety = setTimeout(finish, opts.seconds * 1000 + 15_000);
    if (total === 0) finish();
  });
}
