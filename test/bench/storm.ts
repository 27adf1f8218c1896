import type { BrokerPool, Reply } from "./broker-pool.js";
import type { Credential } from "./seed.js";
import { percentile } from "./stats.js";

/**
 * A connect storm: every device sends CONNECT at once, the broker asks /mqtt/auth once per device.
 * A device the broker could not admit (ignore, an expired or late request, a dropped connection)
 * reconnects after a short randomized backoff, as MQTT clients do, until it is in or a cap is hit.
 */

export interface StormOptions {
  readonly devices: readonly Credential[];
  readonly backoffMs: readonly [min: number, max: number];
  /** Stop retrying after this long from the start. */
  readonly capMs: number;
  readonly maxAttempts: number;
}

export interface StormResult {
  readonly devices: number;
  readonly allowed: number;
  readonly denied: number;
  /** From the first CONNECT until the last device was allowed; null when not all made it. */
  readonly timeToAllMs: number | null;
  /** Wall time of the run (until every device was in or gave up). */
  readonly wallMs: number;
  /** Devices allowed (in time) per second, over the time until the last one was allowed. */
  readonly allowedPerSecond: number;
  /** Devices allowed within the first 5 s of the storm. */
  readonly allowedWithin5s: number;
  readonly attempts: number;
  readonly answers: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly ignore: number;
  /** Answers that came after the broker's timeout: the broker had already given up. */
  readonly late: number;
  /** Requests dropped unsent in the broker's queue after its timeout. */
  readonly expired: number;
  readonly errors: number;
  readonly other: number;
}

export const authBody = (c: Credential, i: number): string =>
  JSON.stringify({
    username: c.username,
    password: c.password,
    clientid: `${c.username}-dev`,
    // Devices connect from many addresses (each its own source for the lockout counters).
    peerhost: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  });

export const resultOf = (body: string): string => /"result":"(\w+)"/.exec(body)?.[1] ?? "unparsable";

export interface Storm {
  readonly result: StormResult;
  /** The devices that got in (in time): the ones whose next login can take the fast path. */
  readonly admitted: readonly Credential[];
}

export function runStorm(pool: BrokerPool, opts: StormOptions): Promise<Storm> {
  const n = opts.devices.length;
  const started = performance.now();
  const latencies: number[] = [];
  const counts = { attempts: 0, ignore: 0, late: 0, expired: 0, errors: 0, other: 0, denied: 0 };
  let allowed = 0;
  let allowedWithin5s = 0;
  let settled = 0;
  let lastAllowedAt = 0;
  const admitted: Credential[] = [];
  const timers = new Set<NodeJS.Timeout>();

  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(safety);
      for (const t of timers) clearTimeout(t);
      const wallMs = performance.now() - started;
      latencies.sort((a, b) => a - b);
      const result: StormResult = {
        devices: n,
        allowed,
        denied: counts.denied,
        timeToAllMs: allowed === n ? lastAllowedAt : null,
        wallMs,
        allowedPerSecond: allowed / ((allowed === n ? lastAllowedAt : wallMs) / 1000),
        allowedWithin5s,
        attempts: counts.attempts,
        answers: latencies.length,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        maxMs: latencies.at(-1) ?? 0,
        ignore: counts.ignore,
        late: counts.late,
        expired: counts.expired,
        errors: counts.errors,
        other: counts.other,
      };
      resolve({ result, admitted });
    };
    // Every path below settles each device; this is the backstop if one never answers.
    const safety = setTimeout(finish, opts.capMs + 30_000);
    const settle = () => {
      if (++settled === n) finish();
    };

    const attempt = (i: number, tries: number) => {
      counts.attempts++;
      pool.post("/mqtt/auth", authBody(opts.devices[i]!, i), (reply: Reply) => {
        if (reply.kind === "answer" || reply.kind === "late") latencies.push(reply.ms);
        if (reply.kind === "answer" && reply.status === 200) {
          const result = resultOf(reply.body);
          if (result === "allow") {
            allowed++;
            admitted.push(opts.devices[i]!);
            lastAllowedAt = performance.now() - started;
            if (lastAllowedAt <= 5000) allowedWithin5s++;
            settle();
            return;
          }
          if (result === "deny") {
            counts.denied++;
            settle();
            return;
          }
          if (result === "ignore") counts.ignore++;
          else counts.other++;
        } else if (reply.kind === "answer") counts.other++;
        else if (reply.kind === "late") counts.late++;
        else if (reply.kind === "expired") counts.expired++;
        else counts.errors++;

        const [min, max] = opts.backoffMs;
        const backoff = min + Math.random() * (max - min);
        if (tries >= opts.maxAttempts || performance.now() - started + backoff > opts.capMs) {
          settle();
          return;
        }
        const t = setTimeout(() => {
          timers.delete(t);
          attempt(i, tries + 1);
        }, backoff);
        timers.add(t);
      });
    };
    for (let i = 0; i < n; i++) attempt(i, 1);
  });
}
