import { describe, expect, it } from "vitest";
import { createAdmission, SHED } from "../../src/core/admission.js";

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
