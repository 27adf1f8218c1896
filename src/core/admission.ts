/**
 * Admission control for slow password verifies.
 *
 * argon2 is slow on purpose, so in a connect storm the verifies a machine can do per second are the
 * physical limit. Beyond it, a request that waits longer than the broker's timeout is worse than
 * useless: the broker has already given up, the device retries, and the CPU spent on the late answer
 * is stolen from a request that could still have made it. So: at most `concurrency` verifies run at
 * once (matched to the cores), waiting requests are served in arrival order within their lane, and a
 * request that cannot finish before its deadline is shed at once — a prompt "ignore" instead of a
 * late answer.
 *
 * Lanes share the slots. Verifies of different profiles differ a hundredfold in cost (a generated
 * secret's light profile ~1 ms, a chosen password's full one tens of ms), so each lane keeps its own
 * duration estimate and queue, and the slots go to the lanes in priority order (cheapest first:
 * shortest job first is what maximizes logins per second) — except that a lane with waiters and
 * nothing running gets the next slot, so neither lane can starve the other: a flood of guesses
 * against chosen passwords keeps at most all but one slot from the generated-secret fleet, and the
 * other way round.
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

interface Lane {
  readonly queue: Waiter[];
  /** queue[head..] are waiting; shifting an array of 10,000 is O(n) per call. */
  head: number;
  running: number;
  shed: number;
  verifyMs: number;
}

/**
 * One admission per lane over `concurrency` shared slots; `lanes` lists them in priority order with
 * a first guess of one verify's duration each.
 */
export function createAdmissionLanes<L extends string>(opts: {
  concurrency: number;
  lanes: readonly { readonly name: L; readonly initialVerifyMs: number }[];
  now?: () => number;
}): Record<L, Admission> {
  const now = opts.now ?? Date.now;
  const lanes: Lane[] = opts.lanes.map((l) => ({
    queue: [],
    head: 0,
    running: 0,
    shed: 0,
    verifyMs: l.initialVerifyMs,
  }));
  const waiting = (l: Lane) => l.queue.length - l.head;
  const totalRunning = () => lanes.reduce((n, l) => n + l.running, 0);
  const anyWaiting = () => lanes.some((l) => waiting(l) > 0);

  /** The lane whose waiter gets the next free slot: a starved one first, else by priority. */
  const nextLane = (): Lane | undefined =>
    lanes.find((l) => waiting(l) > 0 && l.running === 0) ?? lanes.find((l) => waiting(l) > 0);

  /**
   * When a request queued now in lane `i` would finish: at once if a slot is free; else after the
   * work that goes before it — its own lane's waiters and those of higher-priority lanes — drains
   * `concurrency` at a time, plus half a running verify (running ones are half done on average).
   */
  const predictedFinish = (i: number) => {
    const lane = lanes[i]!;
    if (totalRunning() < opts.concurrency) return now() + lane.verifyMs;
    let ahead = 0;
    for (let k = 0; k <= i; k++) ahead += waiting(lanes[k]!) * lanes[k]!.verifyMs;
    let runningWork = 0;
    for (const l of lanes) runningWork += l.running * l.verifyMs;
    const startDelay = (ahead + 0.5 * runningWork) / opts.concurrency;
    // A lane that has nothing running is next in line whatever the priorities say.
    const starvedBound =
      lane.running === 0 ? waiting(lane) * lane.verifyMs + (0.5 * runningWork) / opts.concurrency : Infinity;
    return now() + Math.min(startDelay, starvedBound) + lane.verifyMs;
  };

  const compact = (l: Lane) => {
    if (l.head > 1024 && l.head * 2 > l.queue.length) {
      l.queue.splice(0, l.head);
      l.head = 0;
    }
  };

  const pump = () => {
    while (totalRunning() < opts.concurrency) {
      const lane = nextLane();
      if (lane === undefined) break;
      const next = lane.queue[lane.head++]!;
      compact(lane);
      if (now() + lane.verifyMs > next.deadlineAt) {
        next.shed();
        continue;
      }
      next.start();
    }
  };

  const execute = async <T>(lane: Lane, job: () => Promise<T>): Promise<T> => {
    lane.running++;
    const started = now();
    try {
      return await job();
    } finally {
      lane.running--;
      // An exponentially weighted average follows the machine's real speed (and its noisy neighbours).
      lane.verifyMs = lane.verifyMs * 0.9 + Math.max(1, now() - started) * 0.1;
      pump();
    }
  };

  const admissionFor = (i: number): Admission => {
    const lane = lanes[i]!;
    return {
      run(job, deadlineAt) {
        if (predictedFinish(i) > deadlineAt) {
          lane.shed++;
          return Promise.resolve(SHED);
        }
        return new Promise((resolve, reject) => {
          lane.queue.push({
            deadlineAt,
            start: () => execute(lane, job).then(resolve, reject),
            shed: () => {
              lane.shed++;
              resolve(SHED);
            },
          });
          pump();
        });
      },

      runIfIdle(job) {
        if (totalRunning() >= opts.concurrency || anyWaiting()) return Promise.resolve(SHED);
        return execute(lane, job);
      },

      stats() {
        return { running: lane.running, queued: waiting(lane), shed: lane.shed, verifyMs: lane.verifyMs };
      },
    };
  };

  return Object.fromEntries(opts.lanes.map((l, i) => [l.name, admissionFor(i)])) as Record<L, Admission>;
}

/** A single lane with its own slots. */
export function createAdmission(opts: {
  concurrency: number;
  /** First guess of one verify's duration, before any was measured. */
  initialVerifyMs: number;
  now?: () => number;
}): Admission {
  return createAdmissionLanes({
    concurrency: opts.concurrency,
    lanes: [{ name: "only", initialVerifyMs: opts.initialVerifyMs }],
    ...(opts.now !== undefined && { now: opts.now }),
  }).only;
}
