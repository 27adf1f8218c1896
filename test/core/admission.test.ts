import { describe, expect, it } from "vitest";
import { createAdmission, createAdmissionLanes, SHED } from "../../src/core/admission.js";

/** Admission control with a hand-driven clock: what is shed and what runs, never how fast. */

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("admission control", () => {
  it("runs at most `concurrency` jobs at once, the rest in arrival order", async () => {
    const clock = 0;
    const admission = createAdmission({ concurrency: 2, initialVerifyMs: 10, now: () => clock });
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((gate, i) =>
      admission.run(async () => {
        started.push(i);
        await gate.promise;
        return i;
      }, 1000),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(admission.stats()).toMatchObject({ running: 2, queued: 2 });
    gates[1]!.resolve();
    await runs[1];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
  });

  it("sheds at once a request that could not finish before its deadline", async () => {
    const clock = 0;
    const admission = createAdmission({ concurrency: 1, initialVerifyMs: 100, now: () => clock });
    const gate = deferred();
    const first = admission.run(() => gate.promise.then(() => "first"), 1000);
    // One running, none waiting: a second would start after ~50 ms and take 100 ms.
    const fits = admission.run(async () => "fits", 1000);
    // Deadline 120 ms from now: behind the running one and the waiting one, it cannot make it.
    expect(await admission.run(async () => "late", 120)).toBe(SHED);
    expect(admission.stats().shed).toBe(1);
    gate.resolve();
    expect(await first).toBe("first");
    expect(await fits).toBe("fits");
  });

  it("sheds a waiting request whose deadline passed while it queued, without running it", async () => {
    let clock = 0;
    const admission = createAdmission({ concurrency: 1, initialVerifyMs: 10, now: () => clock });
    const gate = deferred();
    const first = admission.run(() => gate.promise, 10_000);
    let ran = false;
    const second = admission.run(async () => {
      ran = true;
    }, 100);
    clock = 500; // the running verify took far longer than predicted
    gate.resolve();
    await first;
    expect(await second).toBe(SHED);
    expect(ran).toBe(false);
  });

  it("runs background work only when nobody waits", async () => {
    const admission = createAdmission({ concurrency: 1, initialVerifyMs: 10, now: () => 0 });
    const gate = deferred();
    const busy = admission.run(() => gate.promise, 1000);
    expect(await admission.runIfIdle(async () => "upgrade")).toBe(SHED);
    gate.resolve();
    await busy;
    expect(await admission.runIfIdle(async () => "upgrade")).toBe("upgrade");
  });
});

describe("a lane of slots per argon2 profile", () => {
  const lanesAt = (full: number, light: number, clock: () => number = () => 0) =>
    createAdmissionLanes({
      lanes: {
        light: { concurrency: light, initialVerifyMs: 1 },
        full: { concurrency: full, initialVerifyMs: 30 },
      },
      now: clock,
    });

  /** A job that records its start and ends when told. */
  function jobs() {
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const job = (name: string) => () =>
      new Promise<string>((resolve) => {
        started.push(name);
        gates.set(name, () => resolve(name));
      });
    const finish = async (name: string) => {
      gates.get(name)!();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    return { started, job, finish };
  }

  it("runs at most each lane's own slots, whatever the other lane does", async () => {
    const lanes = lanesAt(2, 3);
    const { started, job } = jobs();
    for (const n of ["f1", "f2", "f3", "f4"]) void lanes.full.run(job(n), 10_000);
    for (const n of ["l1", "l2", "l3", "l4"]) void lanes.light.run(job(n), 10_000);
    await Promise.resolve();
    expect(started).toEqual(["f1", "f2", "l1", "l2", "l3"]);
    expect(lanes.full.stats()).toMatchObject({ running: 2, queued: 2 });
    expect(lanes.light.stats()).toMatchObject({ running: 3, queued: 1 });
  });

  it("never lets a flood in one lane take a slot from the other", async () => {
    const lanes = lanesAt(1, 1);
    const { started, job, finish } = jobs();
    // A wrong-password flood fills the full lane's queue…
    for (let i = 0; i < 50; i++) void lanes.full.run(job(`f${i}`), 10_000);
    // …and a generated secret still starts at once, and the next one as soon as it ends.
    void lanes.light.run(job("l1"), 10_000);
    void lanes.light.run(job("l2"), 10_000);
    await Promise.resolve();
    expect(started).toEqual(["f0", "l1"]);
    await finish("l1");
    expect(started.at(-1)).toBe("l2");
    // A freed full slot goes to the full lane's next waiter, in arrival order.
    await finish("f0");
    expect(started.at(-1)).toBe("f1");
  });

  it("predicts each lane's wait from its own queue", async () => {
    const lanes = lanesAt(1, 1);
    const { job } = jobs();
    void lanes.full.run(job("running"), 10_000);
    for (let i = 0; i < 20; i++) void lanes.full.run(job(`f${i}`), 10_000);
    // 20 full verifies wait (600 ms of work); a light verify is not behind them and fits 100 ms…
    void lanes.light.run(job("light"), 100);
    expect(lanes.light.stats()).toMatchObject({ running: 1, shed: 0 });
    // …while another full one, behind the queue, cannot.
    expect(await lanes.full.run(job("late"), 100)).toBe(SHED);
    expect(lanes.full.stats().shed).toBe(1);
    expect(lanes.light.stats().shed).toBe(0);
  });

  it("runs background work only when every lane is idle", async () => {
    const lanes = lanesAt(2, 2);
    const { job, finish } = jobs();
    void lanes.light.run(job("l1"), 10_000);
    expect(await lanes.full.runIfIdle(async () => "rehash")).toBe("rehash");
    void lanes.light.run(job("l2"), 10_000);
    // The light lane's slots are all taken: the full lane's background work waits for another login.
    expect(await lanes.full.runIfIdle(async () => "rehash")).toBe(SHED);
    await finish("l1");
    await finish("l2");
    expect(await lanes.full.runIfIdle(async () => "rehash")).toBe("rehash");
  });
});
