import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import type { LockoutRecord, LockoutScope, SecurityStore } from "../store/types.js";

/**
 * Brute-force protection with escalating backoff.
 *
 * Three keys are counted, each with its own threshold:
 * - (username, source): low threshold. An attacker guessing from one address locks only that pair;
 *   the real device, connecting from its own address, is untouched.
 * - username: a much higher threshold, for guessing spread over many addresses. It never applies to
 *   the source the client last logged in from, so an attacker cannot lock a device out from elsewhere.
 * - source: the highest threshold (fleets behind NAT share one address), for credential stuffing
 *   across many usernames from one address.
 *
 * Only *distinct* wrong passwords count (the caller dedups): EMQX retries a request up to twice, and
 * a misconfigured device repeating one wrong password is not an attacker gaining information.
 *
 * Counters live in this process; lockouts are written to the store, which is the authority: admins
 * see and clear them there, and every process sharing the database honours them.
 */

export interface LockoutPolicy {
  readonly windowMs: number;
  readonly pairThreshold: number;
  readonly usernameThreshold: number;
  readonly sourceThreshold: number;
  readonly baseLockMs: number;
  readonly maxLockMs: number;
}

interface Counter {
  windowStart: number;
  failures: number;
  lockCount: number;
}

export interface Lockouts {
  /** The lockout that refuses this attempt, or null. */
  check(username: string, peerhost: string, lastLoginPeerhost: string | null): Promise<LockoutRecord | null>;
  /** Counts one distinct failure; may lock a key (written to the store without delaying the answer). */
  recordFailure(username: string, peerhost: string, knownUser: boolean): void;
  recordSuccess(username: string, peerhost: string): void;
  /** Resolves when every lockout started so far is written (shutdown: before the store closes). */
  settle(): Promise<void>;
}

/**
 * How long this process believes "no lockout is in force anywhere" without asking the store again. A
 * lockout that another process sharing the database starts is honoured here at most this much later.
 */
export const LOCKOUT_SNAPSHOT_TTL_MS = 1000;

/** Does this lockout, started here, cover the key as `findActiveLockouts` would (time aside)? */
const covers = (l: LockoutRecord, username: string, peerhost: string): boolean =>
  l.scope === "username+peerhost"
    ? l.username === username && l.peerhost === peerhost
    : l.scope === "username"
      ? l.username === username
      : l.peerhost === peerhost;

export function createLockouts(deps: {
  store: SecurityStore;
  policy: LockoutPolicy;
  logger: Logger;
  /** Told of every lockout that starts (metrics). */
  onLock?: (scope: LockoutScope) => void;
  now?: () => number;
}): Lockouts {
  const { policy } = deps;
  const now = deps.now ?? Date.now;
  // Bounded: an attacker inventing usernames or sources cannot grow this without limit.
  const counters = new LRUCache<string, Counter>({ max: 200_000, ttl: 24 * 3600_000 });

  // Every login checks for a lockout, and there is almost never one in force anywhere: rather than a
  // query per login, this process asks the store at most every LOCKOUT_SNAPSHOT_TTL_MS whether any
  // lockout is in force at all. While none is, checks answer without a query; as soon as one is, every
  // check asks the store, as before, which stays the only judge of who is locked (so a lockout an admin
  // clears is honoured at once, and nothing here ever needs to learn of a clear). A lockout that
  // another process sharing the database starts is honoured up to LOCKOUT_SNAPSHOT_TTL_MS later.
  // One this process starts is honoured at once: it is kept in `pending` (and checked here) until its
  // write has settled, and starting one or settling its write (`epoch`) discards the "none".
  let epoch = 0;
  let snapshot: { readonly epoch: number; readonly takenAt: number; readonly none: boolean } | undefined;
  let reading: Promise<boolean> | undefined;
  const pending = new Set<LockoutRecord>();
  const writes = new Set<Promise<void>>();
  /** True when the store had no lockout in force at all, as of less than a TTL ago. */
  const noneInForce = (at: number): boolean | Promise<boolean> => {
    if (
      snapshot !== undefined &&
      snapshot.epoch === epoch &&
      at >= snapshot.takenAt &&
      at - snapshot.takenAt < LOCKOUT_SNAPSHOT_TTL_MS
    ) {
      return snapshot.none;
    }
    if (reading === undefined) {
      const readEpoch = epoch;
      reading = deps.store
        .listLockouts({ activeAt: new Date(at).toISOString() })
        .then((inForce) => {
          const none = inForce.length === 0;
          snapshot = { epoch: readEpoch, takenAt: at, none };
          return none;
        })
        .finally(() => {
          reading = undefined;
        });
    }
    return reading;
  };
  const exempt = (l: LockoutRecord, peerhost: string, lastLoginPeerhost: string | null) =>
    l.scope === "username" && lastLoginPeerhost !== null && lastLoginPeerhost === peerhost;

  const bump = (scope: LockoutScope, username: string, peerhost: string, threshold: number) => {
    const key = `${scope}\0${username}\0${peerhost}`;
    const at = now();
    let c = counters.get(key);
    if (c === undefined || at - c.windowStart > policy.windowMs) {
      c = { windowStart: at, failures: 0, lockCount: c?.lockCount ?? 0 };
      counters.set(key, c);
    }
    c.failures++;
    if (c.failures < threshold) return;
    const lockMs = Math.min(policy.maxLockMs, policy.baseLockMs * 2 ** c.lockCount);
    const lockout: LockoutRecord = {
      scope,
      username,
      peerhost,
      failures: c.failures,
      lockCount: c.lockCount + 1,
      lockedAt: new Date(at).toISOString(),
      lockedUntil: new Date(at + lockMs).toISOString(),
    };
    c.lockCount++;
    c.failures = 0;
    c.windowStart = at;
    deps.logger.warn(
      { scope, username, peerhost, lockedUntil: lockout.lockedUntil },
      "locked out after repeated failures",
    );
    deps.onLock?.(scope);
    pending.add(lockout);
    epoch++;
    const write = deps.store
      .upsertLockout(lockout)
      .catch((err: unknown) => deps.logger.error({ err }, "could not store lockout"))
      .finally(() => {
        pending.delete(lockout);
        writes.delete(write);
        epoch++;
      });
    writes.add(write);
  };

  return {
    async check(username, peerhost, lastLoginPeerhost) {
      const at = now();
      if (pending.size > 0) {
        const until = new Date(at).toISOString();
        for (const l of pending) {
          if (
            covers(l, username, peerhost) &&
            l.lockedUntil > until &&
            !exempt(l, peerhost, lastLoginPeerhost)
          ) {
            return l;
          }
        }
      } else if (await noneInForce(at)) {
        return null;
      }
      const active = await deps.store.findActiveLockouts(username, peerhost, new Date(at).toISOString());
      return active.find((l) => !exempt(l, peerhost, lastLoginPeerhost)) ?? null;
    },

    recordFailure(username, peerhost, knownUser) {
      if (knownUser) {
        // Brokers that send no source address (RabbitMQ's user check, go-auth) must not turn the
        // low pair threshold into a per-username one that anybody could trip from anywhere.
        if (peerhost !== "") bump("username+peerhost", username, peerhost, policy.pairThreshold);
        bump("username", username, "", policy.usernameThreshold);
      }
      if (peerhost !== "") bump("peerhost", "", peerhost, policy.sourceThreshold);
    },

    recordSuccess(username, peerhost) {
      counters.delete(`username+peerhost\0${username}\0${peerhost}`);
    },

    async settle() {
      await Promise.all([...writes]);
    },
  };
}
