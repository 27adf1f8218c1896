import request from "supertest";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { authDecision, provision } from "../helpers/api.js";
import { bearer, createTestContext, dbTarget, type TestContext } from "../helpers/context.js";
import { metricValue } from "../helpers/metrics.js";
import { authenticateAgainst, childEnv, runCli } from "../helpers/processes.js";

/**
 * Brute-force protection as an attacker and an admin meet it: the (username, source) pair locks at
 * 5 distinct wrong passwords, the username alone at a much higher threshold (never for the source
 * the device last logged in from), each lock twice as long as the previous one, all of it visible
 * and clearable by admins.
 */

const PASSWORD = "correct horse battery";
const ATTACKER = "203.0.113.66";
const DEVICE = "198.51.100.7";

let ctx: TestContext;
const contexts: TestContext[] = [];
async function context(env: Record<string, string> = {}): Promise<TestContext> {
  const created = await createTestContext(env);
  contexts.push(created);
  return created;
}
beforeEach(async () => {
  ctx = await context();
  await provision(ctx, { username: "dev1", password: PASSWORD });
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});

async function attempt(on: TestContext, password: string, peerhost: string, username = "dev1") {
  return (await authDecision(on, { username, password, peerhost })).result;
}

/** `count` distinct wrong passwords for dev1 from `peerhost`, each denied. */
async function guessWrong(on: TestContext, count: number, peerhost: string, label = "guess") {
  for (let i = 0; i < count; i++) expect(await attempt(on, `${label}-${i}-wrong`, peerhost)).toBe("deny");
}

interface LockoutView {
  scope: string;
  username: string;
  peerhost: string;
  failures: number;
  lock_count: number;
  locked_at: string;
  locked_until: string;
}

async function lockoutsViaApi(on: TestContext, query = ""): Promise<LockoutView[]> {
  const res = await request(on.app).get(`/api/v1/lockouts${query}`).set(bearer);
  expect(res.status, res.text).toBe(200);
  return (res.body as { data: LockoutView[] }).data;
}

const activeLockoutsInDb = (on: TestContext) => on.db.query<LockoutView>("SELECT * FROM active_lockouts");

const lockedOutDecisions = (on: TestContext) =>
  metricValue(on, "mqtt_authd_authn_decisions_total", { result: "deny", reason: "locked_out" });

const durationMs = (l: LockoutView) => Date.parse(l.locked_until) - Date.parse(l.locked_at);

describe("lockout of one (username, source) pair", () => {
  it("locks after 5 distinct wrong passwords and then denies even the right password, without hashing", async () => {
    await guessWrong(ctx, 4, ATTACKER);
    expect(await lockoutsViaApi(ctx)).toEqual([]);
    await guessWrong(ctx, 1, ATTACKER, "fifth");

    const verify = vi.spyOn(ctx.services.passwords, "verify");
    expect(await attempt(ctx, PASSWORD, ATTACKER)).toBe("deny");
    expect(await attempt(ctx, "yet another guess", ATTACKER)).toBe("deny");
    expect(verify).not.toHaveBeenCalled();
    expect(await lockedOutDecisions(ctx)).toBe(2);
    expect(await metricValue(ctx, "mqtt_authd_lockouts_total", { scope: "username+peerhost" })).toBe(1);

    const [lockout, ...others] = await lockoutsViaApi(ctx);
    expect(others).toEqual([]);
    expect(lockout).toMatchObject({
      scope: "username+peerhost",
      username: "dev1",
      peerhost: ATTACKER,
      failures: 5,
      lock_count: 1,
    });
    expect(durationMs(lockout!)).toBe(60_000);
    expect(await activeLockoutsInDb(ctx)).toEqual([lockout]);

    await ctx.services.events.flush();
    const failures = await request(ctx.app).get("/api/v1/login-failures?username=dev1").set(bearer);
    const reasons = (failures.body as { data: { reason: string; peerhost: string }[] }).data;
    expect(reasons.filter((f) => f.reason === "bad_password" && f.peerhost === ATTACKER)).toHaveLength(5);
  });

  it("still lets the device in with its password from its own address", async () => {
    await guessWrong(ctx, 5, ATTACKER);
    expect(await attempt(ctx, PASSWORD, ATTACKER)).toBe("deny");

    const verify = vi.spyOn(ctx.services.passwords, "verify");
    expect(await attempt(ctx, PASSWORD, DEVICE)).toBe("allow");
    // The spy is live: the allowed login did run the hash the locked one skipped.
    expect(verify).toHaveBeenCalledTimes(1);
    expect(await lockedOutDecisions(ctx)).toBe(1);
  });

  it("counts an EMQX retry of the same wrong password once: ten repeats do not lock", async () => {
    const verify = vi.spyOn(ctx.services.passwords, "verify");
    for (let i = 0; i < 10; i++) expect(await attempt(ctx, "the same wrong password", ATTACKER)).toBe("deny");
    expect(verify).toHaveBeenCalledTimes(1);
    // 1 counted + 3 more distinct = 4, one below the threshold: had each repeat counted, this would lock.
    await guessWrong(ctx, 3, ATTACKER);
    expect(await lockoutsViaApi(ctx, "?all=true")).toEqual([]);
    expect(await attempt(ctx, PASSWORD, ATTACKER)).toBe("allow");
    expect(await lockedOutDecisions(ctx)).toBe(0);
  });

  it("is honoured by every process sharing the database", async () => {
    // authenticateAgainst() opens its own services on the file, connecting from 127.0.0.1.
    await guessWrong(ctx, 5, "127.0.0.1");
    expect(await authenticateAgainst(dbTarget(ctx.config), "dev1", PASSWORD)).toBe("deny");
    expect(await attempt(ctx, PASSWORD, DEVICE)).toBe("allow");
  });
});

describe("lockout of a username from everywhere", () => {
  it("locks at the username threshold spread over many sources, except the device's last source", async () => {
    const spread = await context({ MQTT_AUTHD_LOCKOUT_USERNAME_THRESHOLD: "6" });
    await provision(spread, { username: "dev1", password: PASSWORD });
    expect(await attempt(spread, PASSWORD, DEVICE)).toBe("allow");
    await vi.waitFor(
      async () => expect((await spread.services.store.findClient("dev1"))?.lastLoginPeerhost).toBe(DEVICE),
      { timeout: 5000 },
    );

    // One guess per source: no pair comes near its threshold of 5.
    for (let i = 1; i <= 5; i++)
      expect(await attempt(spread, `spread-${i}-wrong`, `203.0.113.${i}`)).toBe("deny");
    expect(await lockoutsViaApi(spread)).toEqual([]);
    expect(await attempt(spread, "spread-6-wrong", "203.0.113.6")).toBe("deny");

    expect(await attempt(spread, PASSWORD, "203.0.113.99")).toBe("deny");
    expect(await lockedOutDecisions(spread)).toBe(1);
    expect(await lockoutsViaApi(spread)).toEqual([
      expect.objectContaining({
        scope: "username",
        username: "dev1",
        peerhost: "",
        failures: 6,
        lock_count: 1,
      }),
    ]);
    expect(await metricValue(spread, "mqtt_authd_lockouts_total", { scope: "username" })).toBe(1);

    // The attacker cannot lock the device out: its last successful source is exempt.
    expect(await attempt(spread, PASSWORD, DEVICE)).toBe("allow");
  });

  it("locks a source that tries many usernames (credential stuffing), at the source threshold", async () => {
    const stuffing = await context({ MQTT_AUTHD_LOCKOUT_SOURCE_THRESHOLD: "3" });
    await provision(stuffing, { username: "dev1", password: PASSWORD });
    for (const username of ["alice", "bob", "carol"]) {
      expect(await attempt(stuffing, "guess-stuffing", ATTACKER, username)).toBe("deny");
    }
    expect(await lockoutsViaApi(stuffing)).toEqual([
      expect.objectContaining({ scope: "peerhost", username: "", peerhost: ATTACKER }),
    ]);
    expect(await attempt(stuffing, PASSWORD, ATTACKER)).toBe("deny");
    expect(await attempt(stuffing, PASSWORD, DEVICE)).toBe("allow");
  });
});

describe("escalating backoff", () => {
  /** Waits (polling, bounded) until no lockout is in force. */
  const waitUntilUnlocked = (on: TestContext) =>
    vi.waitFor(async () => expect(await lockoutsViaApi(on)).toEqual([]), { timeout: 10_000, interval: 100 });

  it("doubles the lock each time the same key locks again", async () => {
    const fast = await context({ MQTT_AUTHD_LOCKOUT_PAIR_THRESHOLD: "2", MQTT_AUTHD_LOCKOUT_BASE_S: "1" });
    await provision(fast, { username: "dev1", password: PASSWORD });

    await guessWrong(fast, 2, ATTACKER, "first");
    const [first] = await lockoutsViaApi(fast);
    expect(first).toMatchObject({ lock_count: 1 });
    expect(durationMs(first!)).toBe(1000);
    // Attempts during the lock are refused without counting toward the next one.
    expect(await attempt(fast, "during-the-lock", ATTACKER)).toBe("deny");

    await waitUntilUnlocked(fast);
    await guessWrong(fast, 1, ATTACKER, "second");
    expect(await lockoutsViaApi(fast)).toEqual([]);
    await guessWrong(fast, 1, ATTACKER, "second-b");
    const [second] = await lockoutsViaApi(fast);
    expect(second).toMatchObject({ lock_count: 2, failures: 2 });
    expect(durationMs(second!)).toBe(2000);
    expect(await activeLockoutsInDb(fast)).toEqual([second]);
  });

  it("never locks for longer than MQTT_AUTHD_LOCKOUT_MAX_S", async () => {
    const capped = await context({
      MQTT_AUTHD_LOCKOUT_PAIR_THRESHOLD: "1",
      MQTT_AUTHD_LOCKOUT_BASE_S: "1",
      MQTT_AUTHD_LOCKOUT_MAX_S: "1",
    });
    await provision(capped, { username: "dev1", password: PASSWORD });
    await guessWrong(capped, 1, ATTACKER, "first");
    await waitUntilUnlocked(capped);
    await guessWrong(capped, 1, ATTACKER, "second");
    const [again] = await lockoutsViaApi(capped);
    expect(again).toMatchObject({ lock_count: 2 });
    expect(durationMs(again!)).toBe(1000);
  });
});

describe("clearing lockouts", () => {
  it("DELETE /api/v1/lockouts clears the pair, lets the device in again and is audited", async () => {
    await guessWrong(ctx, 5, ATTACKER);
    expect(await attempt(ctx, PASSWORD, ATTACKER)).toBe("deny");

    const res = await request(ctx.app)
      .delete(`/api/v1/lockouts?username=dev1&peerhost=${ATTACKER}`)
      .set(bearer);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ cleared: 1 });
    expect(await lockoutsViaApi(ctx, "?all=true")).toEqual([]);
    expect(await activeLockoutsInDb(ctx)).toEqual([]);
    expect(await attempt(ctx, PASSWORD, ATTACKER)).toBe("allow");

    const audit = await request(ctx.app).get("/api/v1/audit?target=dev1").set(bearer);
    expect((audit.body as { data: unknown[] }).data).toContainEqual(
      expect.objectContaining({
        actor: "token:configured",
        action: "lockout.clear",
        target: "dev1",
        details: { username: "dev1", peerhost: ATTACKER },
      }),
    );
    expect((await ctx.db.auditRows()).filter((r) => r.action === "lockout.clear")).toHaveLength(1);

    // Nothing left to clear: 404, and no audit row for a change that did not happen.
    const again = await request(ctx.app).delete("/api/v1/lockouts?username=dev1").set(bearer);
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ error: { code: "not_found" } });
    expect((await ctx.db.auditRows()).filter((r) => r.action === "lockout.clear")).toHaveLength(1);
  });

  it("DELETE /api/v1/lockouts refuses a request naming neither username nor peerhost", async () => {
    await guessWrong(ctx, 5, ATTACKER);
    const res = await request(ctx.app).delete("/api/v1/lockouts").set(bearer);
    expect(res.status).toBe(400);
    expect(await lockoutsViaApi(ctx)).toHaveLength(1);
  });

  it("`mqtt-authd lockouts` lists it and `mqtt-authd client unlock` clears it, audited with the OS user", async () => {
    await guessWrong(ctx, 5, ATTACKER);
    const env = childEnv({ MQTT_AUTHD_DB: dbTarget(ctx.config) });

    const listed = await runCli(["lockouts", "--json"], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ scope: "username+peerhost", username: "dev1", peerhost: ATTACKER }),
    ]);

    const unlocked = await runCli(["client", "unlock", "dev1", "--peerhost", ATTACKER], env);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toContain("cleared 1 lockout");

    expect(await lockoutsViaApi(ctx, "?all=true")).toEqual([]);
    expect(await attempt(ctx, PASSWORD, ATTACKER)).toBe("allow");
    expect(await ctx.db.auditRows()).toContainEqual(
      expect.objectContaining({
        actor: expect.stringMatching(/^cli:/),
        action: "lockout.clear",
        target: "dev1",
      }),
    );
  });
});
