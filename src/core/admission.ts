/**
 * Admission control for slow password verifies.
 *
 * argon2 is slow on purpose, so in a connect storm the verifies a machine can do per second are the
 * physical limit. Beyond it, a request that waits longer than the broker's timeout is worse than
 * useless: the broker has already given up, the device retries, and the CPU spent on the late answer
 * is stolen from a request that could still have made it. So: at most `concurrency` verifies run at
 * once, waiting requests are served in arrival order, and a request that cannot finish before its
 * deadline is shed at once — a prompt "ignore" instead of a late answer.
 *
 * One lane per argon2 profile, each with its own slots, queue and duration estimate. The profiles
 * differ a hundredfold in cost (a generated secret's light verify well under a millisecond, a chosen
 * password's full one tens of ms), and they need different slot counts: a full verify keeps a core
 * busy, so one slot per core is the limit; a light one is so short that the main thread's turn to
 * hand out the next slot costs more than the verify, and with the event loop busy (a flood of
 * requests) a slot waits a whole loop turn between two verifies — so the light lane gets several
 * slots per core (measured: with one per core, legitimate first logins during a wrong-password flood
 * starved at 2 verifies per loop turn). With separate slots a flood in one lane cannot take a slot
 * from the other: the operating system shares the cores between their threads.
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
  /** Runs `job` only if every lane has a free slot and nobody waits (background work such as rehashing). */
  runIfIdle<T>(job: () => Promise<T>): Promise<T | Shed>;
  stats(): AdmissionStats;
}

export interface LaneOptions {
  /** Verifies of this lane that may run at once. */
  readonly concurrency: number;
  /** First guess of one verify's duration, before any was measured. */
  readonly initialVerifyMs: number;
}

class Lane {
  readonly queue: Waiter[] = [];
  /** queue[head..] are waiting; shifting an array of 10,000 is O(n) per call. */
  head = 0;
  running = 0;
  shed = 0;
  verifyMs: number;

  constructor(
    readonly concurrency: number,
    initialVerifyMs: number,
    private readonly now: () => number,
  ) {
    this.verifyMs = initialVerifyMs;
  }

  get waiting(): number {
    return this.queue.length - this.head;
  }

  get idle(): boolean {
    return this.running < this.concurrency && this.waiting === 0;
  }

  /**
   * When a request queued now would finish: at once if a slot is free; else after the waiters ahead
   * of it drain `concurrency` at a time, plus half a running verify (running ones are half done on
   * average).
   */
  predictedFinish(): number {
    if (this.running < this.concurrency) return this.now() + this.verifyMs;
    const work = (this.waiting + 0.5 * this.running) * this.verifyMs;
    return this.now() + work / this.concurrency + this.verifyMs;
  }

  pump(): void {
    while (this.running < this.concurrency && this.waiting > 0) {
      const next = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (this.now() + this.verifyMs > next.deadlineAt) {
        next.shed();
        continue;
      }
      next.start();
    }
  }

  async execute<T>(job: () => Promise<T>): Promise<T> {
    this.running++;
    const started = this.now();
    try {
      return await job();
    } finally {
      this.running--;
      // An exponentially weighted average follows the machine's real speed (and its noisy neighbours).
      this.verifyMs = this.verifyMs * 0.9 + Math.max(0.1, this.now() - started) * 0.1;
      this.pump();
    }
  }
}

/** One admission per lane, each with its own slots; `runIfIdle` waits for all of them to be idle. */
export function createAdmissionLanes<L extends string>(opts: {
  lanes: Readonly<Record<L, LaneOptions>>;
  now?: () => number;
}): Record<L, Admission> {
  const now = opts.now ?? Date.now;
  const entries = Object.entries(opts.lanes) as [L, LaneOptions][];
  const lanes = entries.map(([, o]) => new Lane(o.concurrency, o.initialVerifyMs, now));
  const admissionFor = (lane: Lane): Admission => ({
    run(job, deadlineAt) {
      if (lane.predictedFinish() > deadlineAt) {
        lane.shed++;
        return Promise.resolve(SHED);
      }
      return new Promise((resolve, reject) => {
        lane.queue.push({
          deadlineAt,
          start: () => lane.execute(job).then(resolve, reject),
          shed: () => {
            lane.shed++;
            resolve(SHED);
          },
        });
        lane.pump();
      });
    },

    runIfIdle(job) {
      if (!lanes.every((l) => l.idle)) return Promise.resolve(SHED);
      return lane.execute(job);
    },

    stats() {
      return { running: lane.running, queued: lane.waiting, shed: lane.shed, verifyMs: lane.verifyMs };
    },
  });
  return Object.fromEntries(entries.map(([name], i) => [name, admissionFor(lanes[i]!)])) as Record<
    L,
    Admission
  >;
}

/** A single lane with its own slots. */
export function createAdmission(opts: LaneOptions & { now?: () => number }): Admission {
  return createAdmissionLanes({
    lanes: { only: { concurrency: opts.concurrency, initialVerifyMs: opts.initialVerifyMs } },
    ...(opts.now !== undefined && { now: opts.now }),
  }).only;
}
