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

describe("lanes sharing the verify slots", () => {
  const lanesAt = (concurrency: number, clock: () => number = () => 0) =>
    createAdmissionLanes({
      concurrency,
      lanes: [
        { name: "light", initialVerifyMs: 1 },
        { name: "full", initialVerifyMs: 30 },
      ],
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

  it("never runs more verifies than slots, whatever the lanes", async () => {
    const lanes = lanesAt(2);
    const { started, job } = jobs();
    for (const n of ["f1", "f2", "f3"]) void lanes.full.run(job(n), 10_000);
    for (const n of ["l1", "l2"]) void lanes.light.run(job(n), 10_000);
    await Promise.resolve();
    expect(started).toEqual(["f1", "f2"]);
    expect(lanes.full.stats().running + lanes.light.stats().running).toBe(2);
  });

  it("gives a freed slot to the cheap lane first, yet keeps one for the other lane while it waits", async () => {
    const lanes = lanesAt(3);
    const { started, job, finish } = jobs();
    for (const n of ["f1", "f2", "f3", "f4", "f5"]) void lanes.full.run(job(n), 10_000);
    await Promise.resolve();
    for (const n of ["l1", "l2", "l3"]) void lanes.light.run(job(n), 10_000);
    expect(started).toEqual(["f1", "f2", "f3"]);
    // A slot frees; full's waiters came first, but light waits with nothing running: light.
    await finish("f1");
    expect(started.at(-1)).toBe("l1");
    // Both lanes run something and both wait: priority decides, the cheap lane again.
    await finish("f2");
    expect(started.at(-1)).toBe("l2");
    // Full's last running verify ends while light still waits: full gets this slot (never starved).
    await finish("f3");
    expect(started.at(-1)).toBe("f4");
    await finish("l1");
    expect(started.at(-1)).toBe("l3");
    expect(lanes.full.stats()).toMatchObject({ running: 1, queued: 1 });
  });

  it("predicts the cheap lane's wait from its own queue, not the expensive one's", async () => {
    const lanes = lanesAt(1);
    const { job } = jobs();
    void lanes.full.run(job("running"), 10_000);
    for (let i = 0; i < 20; i++) void lanes.full.run(job(`f${i}`), 10_000);
    // 20 full verifies wait (600 ms of work); a light verify will go first and fits a 100 ms budget…
    void lanes.light.run(job("light"), 100);
    expect(lanes.light.stats()).toMatchObject({ queued: 1, shed: 0 });
    // …while another full one, behind the queue, cannot.
    expect(await lanes.full.run(job("late"), 100)).toBe(SHED);
    expect(lanes.full.stats().shed).toBe(1);
    expect(lanes.light.stats().shed).toBe(0);
  });

  it("runs background work only when every lane is idle", async () => {
    const lanes = lanesAt(2);
    const { job, finish } = jobs();
    void lanes.light.run(job("l1"), 10_000);
    expect(await lanes.full.runIfIdle(async () => "rehash")).toBe("rehash");
    void lanes.light.run(job("l2"), 10_000);
    expect(await lanes.full.runIfIdle(async () => "rehash")).toBe(SHED);
    await finish("l1");
    await finish("l2");
    expect(await lanes.full.runIfIdle(async () => "rehash")).toBe("rehash");
  });
});
