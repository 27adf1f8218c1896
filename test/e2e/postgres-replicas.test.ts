import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCKOUT_SNAPSHOT_TTL_MS } from "../../src/core/lockout.js";
import { loadPostgresMigrations } from "../../src/db/postgres/migrate.js";
import { ADMIN_TOKEN, HOOK_SECRET } from "../helpers/context.js";
import { createPgDatabase, type PgTestDatabase, pgAdminUrl } from "../helpers/pg.js";
import { childEnv, runCli } from "../helpers/processes.js";
import { remoteApi, remoteHook } from "../helpers/remote.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";

/**
 * Two real `mqtt-authd serve` processes on one PostgreSQL database, as behind a load balancer:
 * they must behave as one service. Each replica keeps its own fast-path cache and rules cache, so
 * these are the cases where a per-process cache could answer from stale memory.
 */

let database: PgTestDatabase;
let a: ServerProcess;
let b: ServerProcess;

const env = (url: string) =>
  childEnv({
    MQTT_AUTHD_DB: url,
    MQTT_AUTHD_HOOK_SECRET: HOOK_SECRET,
    MQTT_AUTHD_ADMIN_TOKEN: ADMIN_TOKEN,
    MQTT_AUTHD_LOG_LEVEL: "info", // startServer waits for the "listening" line
    MQTT_AUTHD_LAST_LOGIN_FLUSH_MS: "10",
  });

const login = async (on: ServerProcess, username: string, password: string, peerhost = "10.0.0.1") =>
  (await remoteHook(on.baseUrl, HOOK_SECRET, { username, password, peerhost })).body as {
    result: string;
  };

const publishes = async (on: ServerProcess, username: string, topic: string) =>
  (
    (
      await remoteHook(
        on.baseUrl,
        HOOK_SECRET,
        { username, topic, action: "publish", qos: "0", retain: "false" },
        "json",
        "/mqtt/acl",
      )
    ).body as { result: string }
  ).result;

async function provision(on: ServerProcess, username: string): Promise<string> {
  // No password given: the server generates one and returns it once.
  const res = await remoteApi(on.baseUrl, ADMIN_TOKEN, "POST", "/api/v1/clients", { username });
  expect(res.status, res.text).toBe(201);
  return (res.body as { password: string }).password;
}

beforeAll(async () => {
  database = await createPgDatabase();
  // Both at the same moment on an empty database: the migrations race unless they serialize.
  [a, b] = await Promise.all([startServer(env(database.url)), startServer(env(database.url))]);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await database?.drop();
});

describe("two replicas on one PostgreSQL database", () => {
  it("both came up on one migrated schema", async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>(
        "SELECT version FROM schema_migrations ORDER BY version",
      );
      expect(rows.map((r) => r.version)).toEqual(loadPostgresMigrations().map((m) => m.version));
    } finally {
      await client.end();
    }
    for (const r of [a, b]) expect((await fetch(`${r.baseUrl}/readyz`)).status).toBe(200);
  });

  it("a client provisioned through A is allowed through B at once", async () => {
    const password = await provision(a, "made-on-a");
    expect((await login(b, "made-on-a", password)).result).toBe("allow");
    expect((await login(b, "made-on-a", `${password}x`)).result).toBe("deny");
  });

  it("disabled through B, it is denied by A on the next request, A's fast path warm", async () => {
    const password = await provision(a, "warm-on-a");
    for (let i = 0; i < 3; i++) expect((await login(a, "warm-on-a", password)).result).toBe("allow");
    const res = await remoteApi(b.baseUrl, ADMIN_TOKEN, "PATCH", "/api/v1/clients/warm-on-a", {
      enabled: false,
    });
    expect(res.status, res.text).toBe(200);
    expect((await login(a, "warm-on-a", password)).result).toBe("deny");
  });

  it("rotated through B, the old password is refused by A although A verified it before", async () => {
    const old = await provision(a, "rotated");
    expect((await login(a, "rotated", old)).result).toBe("allow");
    const res = await remoteApi(b.baseUrl, ADMIN_TOKEN, "POST", "/api/v1/clients/rotated/password", {});
    expect(res.status, res.text).toBe(200);
    const fresh = (res.body as { password: string }).password;
    expect((await login(a, "rotated", old)).result).toBe("deny");
    expect((await login(a, "rotated", fresh)).result).toBe("allow");
  });

  it("deleted through A, it is unknown to B", async () => {
    const password = await provision(b, "short-lived");
    expect((await login(b, "short-lived", password)).result).toBe("allow");
    expect((await remoteApi(a.baseUrl, ADMIN_TOKEN, "DELETE", "/api/v1/clients/short-lived")).status).toBe(
      204,
    );
    expect((await login(b, "short-lived", password)).result).toBe("deny");
  });

  it("rules changed through A apply on B's next ACL call, B's rules cache warm", async () => {
    await provision(a, "acl-dev");
    const put = (rules: unknown[]) =>
      remoteApi(a.baseUrl, ADMIN_TOKEN, "PUT", "/api/v1/clients/acl-dev/acl", { rules });
    expect((await put([{ permission: "allow", action: "publish", topic: "t/1" }])).status).toBe(200);
    expect(await publishes(b, "acl-dev", "t/1")).toBe("allow");
    expect(await publishes(b, "acl-dev", "t/2")).toBe("deny");
    expect((await put([{ permission: "allow", action: "publish", topic: "t/2" }])).status).toBe(200);
    expect(await publishes(b, "acl-dev", "t/1")).toBe("deny");
    expect(await publishes(b, "acl-dev", "t/2")).toBe("allow");
  });

  it("a lockout earned on A holds on B, and an unlock on B frees it on A", async () => {
    const password = await provision(a, "targeted");
    const attacker = "203.0.113.9";
    for (let i = 0; i < 5; i++) await login(a, "targeted", `wrong-${i}`, attacker);
    // A writes the lockout off the request path, and B re-reads its list of lockouts in force at most
    // LOCKOUT_SNAPSHOT_TTL_MS after: B honours it within that bound, not necessarily at once.
    const deadline = Date.now() + LOCKOUT_SNAPSHOT_TTL_MS + 4000;
    let onB = (await login(b, "targeted", password, attacker)).result;
    while (onB !== "deny" && Date.now() < deadline) {
      await sleep(100);
      onB = (await login(b, "targeted", password, attacker)).result;
    }
    expect(onB).toBe("deny");
    expect((await login(b, "targeted", password, "10.0.0.2")).result).toBe("allow");
    const cleared = await remoteApi(b.baseUrl, ADMIN_TOKEN, "DELETE", "/api/v1/lockouts?username=targeted");
    expect(cleared.status, cleared.text).toBe(200);
    expect((await login(a, "targeted", password, attacker)).result).toBe("allow");
  });

  it("a replica that cannot reach the database says so on /readyz and answers the broker `ignore` at once", async () => {
    const admin = new pg.Client({ connectionString: pgAdminUrl() });
    await admin.connect();
    const name = new URL(database.url).pathname.slice(1);
    try {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name]);
      const ready = await fetch(`${a.baseUrl}/readyz`);
      expect(ready.status).toBe(503);
      const res = await remoteHook(a.baseUrl, HOOK_SECRET, { username: "made-on-a", password: "x" });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ result: "ignore" });
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    expect((await fetch(`${a.baseUrl}/readyz`)).status).toBe(200);
  });
});

describe("starting a replica on PostgreSQL", () => {
  it("refuses to start without a configured hook secret: replicas cannot each generate their own", async () => {
    const run = await runCli(
      ["serve"],
      childEnv({ MQTT_AUTHD_DB: database.url, MQTT_AUTHD_ADMIN_TOKEN: ADMIN_TOKEN, MQTT_AUTHD_PORT: "0" }),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("MQTT_AUTHD_HOOK_SECRET");
    expect(run.stderr).not.toContain(new URL(database.url).password);
  });

  it("`mqtt-authd backup` points to pg_dump instead of copying a PostgreSQL database itself", async () => {
    const run = await runCli(["backup", "/tmp/never-written.db"], childEnv({ MQTT_AUTHD_DB: database.url }));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("pg_dump");
  });
});
