import pino from "pino";
import { describe, expect, it } from "vitest";
import { createLockouts, LOCKOUT_SNAPSHOT_TTL_MS, type LockoutPolicy } from "../../src/core/lockout.js";
import type { LockoutRecord, SecurityStore } from "../../src/store/types.js";

/**
 * The per-process "no lockout is in force" snapshot, against an in-memory store with a hand-driven
 * clock: which checks reach the store, and that no lockout is ever missed when it must not be.
 */

const policy: LockoutPolicy = {
  windowMs: 900_000,
  pairThreshold: 2,
  usernameThreshold: 50,
  sourceThreshold: 500,
  baseLockMs: 60_000,
  maxLockMs: 3_600_000,
};

function memoryStore(opts: { slowWrites?: boolean } = {}) {
  let rows: LockoutRecord[] = [];
  const writes: (() => void)[] = [];
  const calls = { find: 0, list: 0 };
  const inForce = (at: string) => rows.filter((l) => l.lockedUntil > at);
  const store: Pick<SecurityStore, "findActiveLockouts" | "listLockouts" | "upsertLockout"> = {
    async findActiveLockouts(username, peerhost, at) {
      calls.find++;
      return inForce(at).filter((l) =>
        l.scope === "username+peerhost"
          ? l.username === username && l.peerhost === peerhost
          : l.scope === "username"
            ? l.username === username
            : l.peerhost === peerhost,
      );
    },
    async listLockouts(q) {
      calls.list++;
      return q.activeAt === undefined ? rows : inForce(q.activeAt);
    },
    upsertLockout(l) {
      const write = () => {
        rows = [...rows.filter((r) => !(r.scope === l.scope && r.username === l.username)), l];
      };
      if (!opts.slowWrites) {
        write();
        return Promise.resolve();
      }
      return new Promise<void>((resolve) =>
        writes.push(() => {
          write();
          resolve();
        }),
      );
    },
  };
  return {
    store: store as SecurityStore,
    calls,
    /** Another process, or an admin, writing the table directly. */
    set: (next: LockoutRecord[]) => {
      rows = next;
    },
    /** Lands the writes held back by `slowWrites`. */
    landWrites: async () => {
      for (const w of writes.splice(0)) w();
      await new Promise((r) => setImmediate(r));
    },
  };
}

function setup(opts: { slowWrites?: boolean } = {}) {
  const db = memoryStore(opts);
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const lockouts = createLockouts({
    store: db.store,
    policy,
    logger: pino({ level: "silent" }),
    now: () => clock,
  });
  return {
    db,
    lockouts,
    advance: (ms: number) => {
      clock += ms;
    },
    at: (ms = 0) => new Date(clock + ms).toISOString(),
  };
}

const pairLock = (at: string, until: string): LockoutRecord => ({
  scope: "username+peerhost",
  username: "dev1",
  peerhost: "10.0.0.9",
  failures: 5,
  lockCount: 1,
  lockedAt: at,
  lockedUntil: until,
});

describe("lockout checks while no lockout is in force", () => {
  it("ask the store once per TTL, not once per check", async () => {
    const { db, lockouts, advance } = setup();
    for (let i = 0; i < 50; i++) {
      expect(await lockouts.check(`dev${i}`, `10.0.${i}.1`, null)).toBeNull();
    }
    expect(db.calls).toEqual({ find: 0, list: 1 });
    advance(LOCKOUT_SNAPSHOT_TTL_MS);
    expect(await lockouts.check("dev1", "10.0.0.1", null)).toBeNull();
    expect(db.calls).toEqual({ find: 0, list: 2 });
  });

  it("deny at once after this process locks a key, and ask the store for every check from then on", async () => {
    const { db, lockouts } = setup();
    expect(await lockouts.check("dev1", "10.0.0.9", null)).toBeNull();
    lockouts.recordFailure("dev1", "10.0.0.9", true);
    lockouts.recordFailure("dev1", "10.0.0.9", true);
    expect(await lockouts.check("dev1", "10.0.0.9", null)).toMatchObject({
      scope: "username+peerhost",
      username: "dev1",
      peerhost: "10.0.0.9",
    });
    // Another key is still answered by the store, which knows of the lockout now.
    expect(await lockouts.check("dev1", "10.0.0.10", null)).toBeNull();
    expect(db.calls.find).toBeGreaterThan(0);
  });

  it("deny at once even while the lockout's write has not landed yet", async () => {
    const { db, lockouts } = setup({ slowWrites: true });
    expect(await lockouts.check("dev1", "10.0.0.9", null)).toBeNull();
    lockouts.recordFailure("dev1", "10.0.0.9", true);
    lockouts.recordFailure("dev1", "10.0.0.9", true);
    expect(await lockouts.check("dev1", "10.0.0.9", null)).not.toBeNull();
    // The device's own source is not covered by a pair lockout on the attacker's.
    expect(await lockouts.check("dev1", "10.0.0.7", null)).toBeNull();
    await db.landWrites();
    expect(await lockouts.check("dev1", "10.0.0.9", null)).not.toBeNull();
  });

  it("settle only when every lockout started so far is written (shutdown waits for it)", async () => {
    const { db, lockouts, at } = setup({ slowWrites: true });
    lockouts.recordFailure("dev1", "10.0.0.9", true);
    lockouts.recordFailure("dev1", "10.0.0.9", true);
    let settled = false;
    const settling = lockouts.settle().then(() => {
      settled = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    await db.landWrites();
    await settling;
    expect(await db.store.listLockouts({ activeAt: at() })).toHaveLength(1);
    await expect(lockouts.settle()).resolves.toBeUndefined();
  });

  it("honour a lockout another process starts within the TTL", async () => {
    const { db, lockouts, advance, at } = setup();
    expect(await lockouts.check("dev1", "10.0.0.9", null)).toBeNull();
    db.set([pairLock(at(), at(60_000))]);
    advance(LOCKOUT_SNAPSHOT_TTL_MS);
    expect(await lockouts.check("dev1", "10.0.0.9", null)).not.toBeNull();
  });

  it("honour a cleared lockout at once: a lockout in force is always confirmed by the store", async () => {
    const { db, lockouts, at } = setup();
    db.set([pairLock(at(), at(60_000))]);
    expect(await lockouts.check("dev1", "10.0.0.9", null)).not.toBeNull();
    db.set([]);
    expect(await lockouts.check("dev1", "10.0.0.9", null)).toBeNull();
  });

  it("do not trust a snapshot when the clock steps back", async () => {
    const { db, lockouts, advance, at } = setup();
    expect(await lockouts.check("dev1", "10.0.0.9", null)).toBeNull();
    db.set([pairLock(at(-10_000), at(60_000))]);
    advance(-5000);
    expect(await lockouts.check("dev1", "10.0.0.9", null)).not.toBeNull();
  });
});
