import { createHmac, randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import type { PasswordService } from "../passwords/service.js";
import type { ClientRecord, SourcedRule, Store } from "../store/types.js";
import { type Admission, SHED } from "./admission.js";
import type { AuthEvents } from "./auth-events.js";
import type { Lockouts } from "./lockout.js";
import type { VerifyTiming } from "./timing.js";
import type { VerifyCache } from "./verify-cache.js";

/** What every broker edge hands the core, whatever its wire format. */
export interface AuthnRequest {
  readonly username: string;
  readonly password: string;
  readonly clientid: string;
  readonly peerhost: string;
}

export type DenyReason =
  | "unknown_user"
  | "bad_password"
  | "disabled"
  | "expired"
  | "client_id_mismatch"
  | "password_too_long"
  | "locked_out";

export type AuthnDecision =
  /** `rules`: the client's ACL in evaluation order, when the edge asked for it (EMQX's login `acl`). */
  | {
      readonly result: "allow";
      readonly client: ClientRecord;
      readonly rules?: SourcedRule[];
      readonly path: "fast" | "slow";
    }
  | { readonly result: "deny"; readonly reason: DenyReason }
  /** Ask the next authenticator: unknown user in a chain, overloaded, or we cannot decide now. */
  | { readonly result: "ignore"; readonly reason: "unknown_user" | "overloaded" | "unavailable" };

export interface AuthenticatorDeps {
  readonly store: Store;
  readonly passwords: PasswordService;
  readonly events: AuthEvents;
  readonly cache: VerifyCache;
  /**
   * Admission control per argon2 profile: a light verify (generated secrets, ~1 ms) and a full one
   * (chosen or imported passwords, tens of ms) differ a hundredfold, so each lane keeps its own
   * duration estimate and queue, and a storm of one kind cannot starve the other.
   */
  readonly admission: Readonly<Record<VerifyLane, Admission>>;
  readonly lockouts: Lockouts;
  readonly timing: VerifyTiming;
  readonly logger: Logger;
  readonly unknownUser: "deny" | "ignore";
  readonly passwordMaxBytes: number;
  /** Budget from arrival to answer; below the broker's timeout (EMQX authn: 5 s). */
  readonly deadlineMs: number;
  /**
   * How long a login may wait for a verify of each lane before it is answered "ignore" (within the
   * deadline). Light verifies drain fast, so their lane may use the whole deadline; full ones drain at
   * tens per second, and a login waiting seconds for one holds a broker connection, and every request
   * queued behind it, past the broker's timeout.
   */
  readonly waitMs: Readonly<Record<VerifyLane, number>>;
  /** Read the client's rules with its row (one query), to hand them to the broker at login. */
  readonly withRules: boolean;
  readonly now?: () => number;
}

export type Authenticate = (req: AuthnRequest) => Promise<AuthnDecision>;

export type VerifyLane = "light" | "full";

export const laneOf = (client: ClientRecord): VerifyLane =>
  client.passwordOrigin === "generated" ? "light" : "full";

export function isExpired(client: ClientRecord, at: Date): boolean {
  return client.expiresAt !== null && Date.parse(client.expiresAt) <= at.getTime();
}

/**
 * One CONNECT, decided (shared/DESIGN.md): read the row; refuse what needs no hash; refuse locked-out
 * keys without hashing; the fast path for a password that already verified against this exact hash;
 * otherwise a slow verify through admission control, answered "ignore" if it cannot finish in time.
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  const now = deps.now ?? Date.now;
  const { cache, events, lockouts, timing } = deps;

  // Wrong passwords already refused against the current hash: an EMQX retry or a device repeating a
  // stale password is answered without another argon2 run, and counted toward lockout only once.
  const failedKey = randomBytes(32);
  const failed = new LRUCache<string, string>({ max: 100_000, ttl: 15 * 60_000 });
  const fingerprint = (username: string, password: string) =>
    createHmac("sha256", failedKey).update(username).update("\0").update(password).digest("base64");

  const read = async (username: string): Promise<{ client: ClientRecord; rules?: SourcedRule[] } | null> => {
    if (deps.withRules) return deps.store.findClientWithRules(username);
    const client = await deps.store.findClient(username);
    return client === null ? null : { client };
  };

  // Stored hashes already at their origin's profile: parsing the hash again on every login would only
  // find the same answer (it depends on the hash string, the origin and this process's profiles).
  const upToDate = new LRUCache<string, ClientRecord["passwordOrigin"]>({ max: 100_000 });
  const upgradeIfDue = (client: ClientRecord, password: string) => {
    if (upToDate.get(client.passwordHash) === client.passwordOrigin) return;
    if (!deps.passwords.needsUpgrade(client.passwordHash, client.passwordOrigin)) {
      upToDate.set(client.passwordHash, client.passwordOrigin);
      return;
    }
    // Background work: only when no login is waiting for a verify slot; a later login retries.
    deps.admission[laneOf(client)]
      .runIfIdle(async () => {
        const next = await deps.passwords.hash(password, client.passwordOrigin);
        // Compare-and-set on the old hash: an admin who rotated the password meanwhile wins.
        const replaced = await deps.store.replacePasswordHash(client.username, client.passwordHash, next);
        if (replaced) cache.remember(client.username, next.hash, password);
        deps.logger.info(
          { username: client.username, from: client.hashFormat, replaced },
          "password hash upgraded",
        );
      })
      .catch((err: unknown) =>
        deps.logger.warn({ err, username: client.username }, "password hash upgrade failed"),
      );
  };

  return async (req) => {
    const arrived = now();
    const deadlineAt = arrived + deps.deadlineMs;
    const fail = (reason: DenyReason): AuthnDecision => {
      events.failure({ at: new Date(arrived).toISOString(), ...pick(req), reason });
      return { result: "deny", reason };
    };

    // Larger than anything we would store: refuse without hashing (a huge input is a CPU attack).
    if (Buffer.byteLength(req.password, "utf8") > deps.passwordMaxBytes) return fail("password_too_long");

    const found = await read(req.username);
    const client = found?.client ?? null;
    // Not written to login_failures: the lockout row already tells the story, and a flood of
    // locked-out attempts must not turn into a flood of writes.
    if ((await lockouts.check(req.username, req.peerhost, client?.lastLoginPeerhost ?? null)) !== null) {
      return { result: "deny", reason: "locked_out" };
    }
    if (client === null) {
      events.failure({ at: new Date(arrived).toISOString(), ...pick(req), reason: "unknown_user" });
      lockouts.recordFailure(req.username, req.peerhost, false);
      await timing.imitate(deadlineAt);
      return deps.unknownUser === "ignore"
        ? { result: "ignore", reason: "unknown_user" }
        : { result: "deny", reason: "unknown_user" };
    }
    if (!client.isEnabled) return fail("disabled");
    if (isExpired(client, new Date(arrived))) return fail("expired");
    if (client.boundClientId !== null && client.boundClientId !== req.clientid)
      return fail("client_id_mismatch");

    const allow = (path: "fast" | "slow"): AuthnDecision => {
      lockouts.recordSuccess(client.username, req.peerhost);
      events.login({
        username: client.username,
        at: new Date(arrived).toISOString(),
        peerhost: req.peerhost,
      });
      upgradeIfDue(client, req.password);
      return found?.rules === undefined
        ? { result: "allow", client, path }
        : { result: "allow", client, rules: found.rules, path };
    };
    const wrongPassword = (counted: boolean): AuthnDecision => {
      if (counted) lockouts.recordFailure(client.username, req.peerhost, true);
      return fail("bad_password");
    };

    const fast = cache.check(client.username, client.passwordHash, req.password);
    if (fast === "match") return allow("fast");
    const key = fingerprint(client.username, req.password);
    const seenBefore = failed.get(key) === client.passwordHash;
    if (fast === "mismatch" || seenBefore) {
      const firstTime = !seenBefore;
      failed.set(key, client.passwordHash);
      await timing.imitate(deadlineAt);
      return wrongPassword(firstTime);
    }

    const lane = laneOf(client);
    const verified = await deps.admission[lane].run(
      () => deps.passwords.verify(client.passwordHash, req.password),
      Math.min(deadlineAt, arrived + deps.waitMs[lane]),
    );
    if (verified === SHED) return { result: "ignore", reason: "overloaded" };
    timing.observe(now() - arrived);
    if (!verified) {
      failed.set(key, client.passwordHash);
      return wrongPassword(true);
    }
    cache.remember(client.username, client.passwordHash, req.password);
    return allow("slow");
  };
}

const pick = (req: AuthnRequest) => ({
  username: req.username,
  peerhost: req.peerhost,
  clientid: req.clientid,
});
