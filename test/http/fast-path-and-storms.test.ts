import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { bearer, createTestContext, hookHeaders, type TestContext } from "../helpers/context.js";
import { metricValue } from "../helpers/metrics.js";

let ctx: TestContext;
afterEach(() => ctx.close());

const login = (username: string, password: string, peerhost = "10.0.0.1") =>
  request(ctx.app)
    .post("/mqtt/auth")
    .set(hookHeaders)
    .send({ username, password, clientid: username, peerhost });

const provision = async (body: Record<string, unknown>) => {
  const res = await request(ctx.app).post("/api/v1/clients").set(bearer).send(body);
  expect(res.status).toBe(201);
  return res.body as { password?: string };
};

describe("the verified-credential fast path", () => {
  it("serves the second login with the same password without a slow verify", async () => {
    ctx = await createTestContext();
    await provision({ username: "dev1", password: "correct horse" });
    expect((await login("dev1", "correct horse")).body.result).toBe("allow");
    expect((await login("dev1", "correct horse")).body.result).toBe("allow");
    expect(
      await metricValue(ctx, "mqtt_authd_authn_decisions_total", { result: "allow", path: "slow" }),
    ).toBe(1);
    expect(
      await metricValue(ctx, "mqtt_authd_authn_decisions_total", { result: "allow", path: "fast" }),
    ).toBe(1);
  });

  it("never allows a wrong password, however warm the cache", async () => {
    ctx = await createTestContext();
    await provision({ username: "dev1", password: "correct horse" });
    await login("dev1", "correct horse");
    for (const wrong of ["correct hors", "correct horse ", "CORRECT HORSE", ""]) {
      expect((await login("dev1", wrong, "10.0.0.2")).body).toEqual({ result: "deny" });
    }
    expect(
      await metricValue(ctx, "mqtt_authd_authn_decisions_total", { result: "allow", path: "fast" }),
    ).toBe(0);
  });

  it("stops serving the old password the moment it is rotated, the client disabled, expired or deleted", async () => {
    ctx = await createTestContext();
    for (const name of ["rot", "dis", "exp", "del"])
      await provision({ username: name, password: `${name} password` });
    for (const name of ["rot", "dis", "exp", "del"])
      expect((await login(name, `${name} password`)).body.result).toBe("allow");
    await request(ctx.app)
      .post("/api/v1/clients/rot/password")
      .set(bearer)
      .send({ password: "a new password" });
    await request(ctx.app).patch("/api/v1/clients/dis").set(bearer).send({ enabled: false });
    await request(ctx.app)
      .patch("/api/v1/clients/exp")
      .set(bearer)
      .send({ expires_at: "2001-01-01T00:00:00Z" });
    await request(ctx.app).delete("/api/v1/clients/del").set(bearer);
    for (const name of ["rot", "dis", "exp", "del"]) {
      expect((await login(name, `${name} password`)).body, name).toEqual({ result: "deny" });
    }
    expect((await login("rot", "a new password")).body.result).toBe("allow");
  });
});

describe("admission control under a connect storm", () => {
  it("answers 'ignore' for logins it cannot verify before the deadline, and never a wrong deny", async () => {
    // Production argon2 cost (≥ 15 ms a verify), one verify at a time, a 400 ms budget: 60 logins at
    // once cannot all fit, and the first ones do even with a database round trip on a loaded machine.
    ctx = await createTestContext({
      MQTT_AUTHD_ARGON2_MEMORY_KIB: "19456",
      MQTT_AUTHD_ARGON2_TIME_COST: "2",
      MQTT_AUTHD_VERIFY_CONCURRENCY: "1",
      MQTT_AUTHD_DEADLINE_MS: "400",
    });
    const names = Array.from({ length: 60 }, (_, i) => `storm-${i}`);
    for (const name of names) await provision({ username: name, password: `${name} password` });
    const answers = await Promise.all(names.map((n) => login(n, `${n} password`)));
    const results = answers.map((a) => a.body.result as string);
    expect(results.every((r) => r === "allow" || r === "ignore")).toBe(true);
    expect(results).toContain("ignore");
    expect(results).toContain("allow");
    expect(await metricValue(ctx, "mqtt_authd_verify_shed_total")).toBe(
      results.filter((r) => r === "ignore").length,
    );
  });

  it("makes a chosen password wait for a verify only CHOSEN_VERIFY_WAIT_MS, a generated secret up to the deadline", async () => {
    // One slot, production cost for chosen passwords (≥ 15 ms a verify), a 4 s deadline: 40 chosen
    // logins at once would all fit in the deadline, but not in a 60 ms wait; 20 generated secrets
    // (a cheap profile, first in line) all do.
    ctx = await createTestContext({
      MQTT_AUTHD_ARGON2_MEMORY_KIB: "19456",
      MQTT_AUTHD_ARGON2_TIME_COST: "2",
      MQTT_AUTHD_VERIFY_CONCURRENCY: "1",
      MQTT_AUTHD_DEADLINE_MS: "4000",
      MQTT_AUTHD_CHOSEN_VERIFY_WAIT_MS: "60",
    });
    const chosen = Array.from({ length: 40 }, (_, i) => `chosen-${i}`);
    for (const name of chosen) await provision({ username: name, password: `${name} password` });
    const generated: [string, string][] = [];
    for (let i = 0; i < 20; i++) {
      const res = await request(ctx.app)
        .post("/api/v1/clients")
        .set(bearer)
        .send({ username: `gen-${i}` });
      generated.push([`gen-${i}`, res.body.password as string]);
    }
    const answers = await Promise.all([
      ...chosen.map((n) => login(n, `${n} password`)),
      ...generated.map(([n, p]) => login(n, p)),
    ]);
    const results = answers.map((a) => a.body.result as string);
    const chosenResults = results.slice(0, chosen.length);
    expect(chosenResults).toContain("ignore");
    expect(chosenResults.every((r) => r === "allow" || r === "ignore")).toBe(true);
    expect(results.slice(chosen.length)).toEqual(generated.map(() => "allow"));
  });

  it("lets fast-path hits and unknown usernames through while slow verifies are saturated", async () => {
    ctx = await createTestContext({
      MQTT_AUTHD_ARGON2_MEMORY_KIB: "19456",
      MQTT_AUTHD_ARGON2_TIME_COST: "2",
      MQTT_AUTHD_VERIFY_CONCURRENCY: "1",
      MQTT_AUTHD_DEADLINE_MS: "150",
    });
    await provision({ username: "warm", password: "warm password" });
    expect((await login("warm", "warm password")).body.result).toBe("allow");
    const names = Array.from({ length: 20 }, (_, i) => `cold-${i}`);
    for (const name of names) await provision({ username: name, password: `${name} password` });
    const [warm, unknown] = await Promise.all([
      login("warm", "warm password"),
      login("nobody", "whatever"),
      ...names.map((n) => login(n, `${n} password`)),
    ]);
    expect(warm!.body.result).toBe("allow");
    expect(unknown!.body).toEqual({ result: "deny" });
  });
});

describe("health and metrics", () => {
  it("/readyz turns 503 while shutting down and when the database does not answer", async () => {
    ctx = await createTestContext();
    expect((await request(ctx.app).get("/readyz")).status).toBe(200);
    ctx.services.lifecycle.shuttingDown = true;
    expect((await request(ctx.app).get("/readyz")).body).toEqual({ status: "shutting_down" });
    ctx.services.lifecycle.shuttingDown = false;
    const ping = ctx.services.store.ping;
    ctx.services.store.ping = async () => {
      throw new Error("disk on fire");
    };
    const res = await request(ctx.app).get("/readyz");
    ctx.services.store.ping = ping;
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: "database_unavailable" });
    expect((await request(ctx.app).get("/healthz")).status).toBe(200);
  });

  it("/metrics needs a token and exposes the documented series", async () => {
    ctx = await createTestContext();
    expect((await request(ctx.app).get("/metrics")).status).toBe(401);
    const res = await request(ctx.app).get("/metrics").set(bearer);
    expect(res.status).toBe(200);
    for (const name of [
      "mqtt_authd_authn_decisions_total",
      "mqtt_authd_authz_decisions_total",
      "mqtt_authd_http_request_duration_seconds",
      "mqtt_authd_verify_queue_depth",
      "mqtt_authd_verify_shed_total",
      "mqtt_authd_lockouts_total",
      "mqtt_authd_fast_path_entries",
      "mqtt_authd_database_size_bytes",
    ]) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
  });
});

describe("retention", () => {
  it("removes failed-login records and audit rows older than the cut-off, and keeps newer ones", async () => {
    ctx = await createTestContext();
    await provision({ username: "dev1", password: "correct horse" });
    await login("dev1", "wrong one");
    await ctx.services.events.flush();
    const future = new Date(Date.now() + 60_000).toISOString();
    const past = new Date(Date.now() - 60_000).toISOString();
    expect(await ctx.services.store.prune({ failures: past, audit: past })).toEqual({
      failures: 0,
      audit: 0,
    });
    const removed = await ctx.services.store.prune({ failures: future, audit: future });
    expect(removed.failures).toBe(1);
    expect(removed.audit).toBeGreaterThanOrEqual(1);
    expect(await ctx.services.store.listFailures({ limit: 10 })).toEqual([]);
  });
});
