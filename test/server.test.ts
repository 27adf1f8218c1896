import { readFileSync, statSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SECRET_HEADER } from "./helpers/context.js";
import { withReadonlyDb } from "./helpers/db.js";
import { childEnv, makeTempDir, removeDir } from "./helpers/processes.js";
import { type ServerProcess, startServer } from "./helpers/server-process.js";

let dir: string;
let dataDir: string;
let env: NodeJS.ProcessEnv;
let server: ServerProcess | undefined;
beforeEach(() => {
  dir = makeTempDir();
  // A folder that does not exist yet: the first start must create it.
  dataDir = join(dir, "data");
  env = childEnv({ MQTT_AUTHD_DB: join(dataDir, "mqtt-authd.db"), MQTT_AUTHD_LOG_LEVEL: "info" });
});
afterEach(async () => {
  await server?.stop("SIGKILL");
  server = undefined;
  removeDir(dir);
});

const PASSWORD = "correct horse battery";
const readSecret = (name: string) => readFileSync(join(dataDir, name), "utf8").trim();
const mode = (path: string) => statSync(path).mode & 0o777;

interface Secrets {
  adminToken: string;
  hookSecret: string;
}

function api(s: ServerProcess, secrets: Secrets, method: string, path: string, body?: object) {
  return fetch(`${s.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secrets.adminToken}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

async function mqttAuth(s: ServerProcess, headers: Record<string, string>, fields: Record<string, string>) {
  const res = await fetch(`${s.baseUrl}/mqtt/auth`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ clientid: "c1", peerhost: "10.0.0.1", ...fields }),
  });
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    body: (await res.json()) as object,
  };
}

/** One request over node:http with a keep-alive connection, for the raw response headers. */
function rawGet(url: string, headers: Record<string, string>): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { connection: "keep-alive", ...headers } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.headers));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("mqtt-authd serve (the real process)", () => {
  it("on first start writes the admin token and hook secret to 0600 files, logging their paths only", async () => {
    server = await startServer(env);
    const tokenPath = join(dataDir, "admin-token");
    const secretPath = join(dataDir, "hook-secret");
    expect(mode(tokenPath)).toBe(0o600);
    expect(mode(secretPath)).toBe(0o600);
    expect(mode(dataDir) & 0o077).toBe(0);
    // The database holds the hashes: readable by the service's user only, its WAL too.
    for (const file of ["mqtt-authd.db", "mqtt-authd.db-wal"])
      expect(mode(join(dataDir, file)), file).toBe(0o600);
    const secrets = { adminToken: readSecret("admin-token"), hookSecret: readSecret("hook-secret") };
    expect(secrets.adminToken).toMatch(/^mqa_/);
    expect(secrets.hookSecret.length).toBeGreaterThanOrEqual(32);

    // Use both, so any request logging has its chance to leak them too.
    expect((await api(server, secrets, "GET", "/api/v1/clients")).status).toBe(200);
    await mqttAuth(server, { [SECRET_HEADER]: secrets.hookSecret }, { username: "x", password: "y" });
    await server.stop();

    const logPaths = server.logLines().map((l) => l.path);
    expect(logPaths).toContain(tokenPath);
    expect(logPaths).toContain(secretPath);
    const output = server.output();
    expect(output).not.toContain(secrets.adminToken);
    expect(output).not.toContain(secrets.adminToken.slice(4));
    expect(output).not.toContain(secrets.hookSecret);
  });

  it("provisions a client over HTTP and answers /mqtt/auth for it", async () => {
    server = await startServer(env);
    const secrets = { adminToken: readSecret("admin-token"), hookSecret: readSecret("hook-secret") };
    const created = await api(server, secrets, "POST", "/api/v1/clients", {
      username: "dev1",
      password: PASSWORD,
    });
    expect(created.status).toBe(201);

    const hook = { [SECRET_HEADER]: secrets.hookSecret };
    const allow = await mqttAuth(server, hook, { username: "dev1", password: PASSWORD });
    expect(allow.status).toBe(200);
    expect(allow.contentType).toMatch(/^application\/json/);
    expect(allow.body).toMatchObject({ result: "allow", is_superuser: false });
    expect((await mqttAuth(server, hook, { username: "dev1", password: "wrong password" })).body).toEqual({
      result: "deny",
    });
    expect((await mqttAuth(server, hook, { username: "ghost", password: PASSWORD })).body).toEqual({
      result: "deny",
    });
    const noSecret = await mqttAuth(server, {}, { username: "dev1", password: PASSWORD });
    expect(noSecret.status).toBe(401);
    expect(noSecret.body).toMatchObject({ error: { code: "unauthorized" } });
    expect(server.output()).not.toContain(PASSWORD);
  });

  it("advertises a keep-alive timeout above EMQX's 30 s", async () => {
    server = await startServer(env);
    const headers = await rawGet(`${server.baseUrl}/mqtt/auth?username=x&password=y`, {
      [SECRET_HEADER]: readSecret("hook-secret"),
    });
    const timeout = /timeout=(\d+)/.exec(String(headers["keep-alive"]))?.[1];
    expect(Number(timeout)).toBeGreaterThan(30);
  });

  it("exits 0 on SIGTERM, writing pending last logins first", async () => {
    // A flush interval far longer than the test: only the shutdown can write the login.
    server = await startServer({ ...env, MQTT_AUTHD_LAST_LOGIN_FLUSH_MS: "60000" });
    const secrets = { adminToken: readSecret("admin-token"), hookSecret: readSecret("hook-secret") };
    await api(server, secrets, "POST", "/api/v1/clients", { username: "dev1", password: PASSWORD });
    const allow = await mqttAuth(
      server,
      { [SECRET_HEADER]: secrets.hookSecret },
      { username: "dev1", password: PASSWORD },
    );
    expect(allow.body).toMatchObject({ result: "allow" });

    expect(await server.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(server.logLines().map((l) => l.msg)).toContain("stopped");
    const lastLogin = withReadonlyDb(join(dataDir, "mqtt-authd.db"), (db) =>
      db.prepare("SELECT last_login_at FROM mqtt_clients WHERE username = 'dev1'").pluck().get(),
    );
    expect(lastLogin).not.toBeNull();
  });

  it("keeps the generated secrets across a restart", async () => {
    server = await startServer(env);
    const first = { adminToken: readSecret("admin-token"), hookSecret: readSecret("hook-secret") };
    expect(await server.stop()).toEqual({ code: 0, signal: null });

    server = await startServer(env);
    expect({ adminToken: readSecret("admin-token"), hookSecret: readSecret("hook-secret") }).toEqual(first);
    expect((await api(server, first, "GET", "/api/v1/clients")).status).toBe(200);
    const hook = await mqttAuth(
      server,
      { [SECRET_HEADER]: first.hookSecret },
      { username: "x", password: "y" },
    );
    expect(hook.status).toBe(200);
  });

  it("uses the configured secrets and writes no secret files", async () => {
    const adminToken = "mqa_configured-admin-token-0123456789abcdef";
    const hookSecret = "configured-hook-secret-0123456789";
    server = await startServer({
      ...env,
      MQTT_AUTHD_ADMIN_TOKEN: adminToken,
      MQTT_AUTHD_HOOK_SECRET: hookSecret,
    });
    expect((await api(server, { adminToken, hookSecret }, "GET", "/api/v1/clients")).status).toBe(200);
    expect(
      (await mqttAuth(server, { [SECRET_HEADER]: hookSecret }, { username: "x", password: "y" })).status,
    ).toBe(200);
    expect(() => statSync(join(dataDir, "admin-token"))).toThrow(/ENOENT/);
    expect(() => statSync(join(dataDir, "hook-secret"))).toThrow(/ENOENT/);
    await server.stop();
    expect(server.output()).not.toContain(adminToken);
    expect(server.output()).not.toContain(hookSecret);
  });

  it("accepts a changed MQTT_AUTHD_ADMIN_TOKEN after a restart and stops accepting the old one", async () => {
    const oldToken = "mqa_configured-admin-token-old-0123456789";
    const newToken = "mqa_configured-admin-token-new-0123456789";
    const hookSecret = "configured-hook-secret-0123456789";
    server = await startServer({
      ...env,
      MQTT_AUTHD_ADMIN_TOKEN: oldToken,
      MQTT_AUTHD_HOOK_SECRET: hookSecret,
    });
    expect((await api(server, { adminToken: oldToken, hookSecret }, "GET", "/api/v1/clients")).status).toBe(
      200,
    );
    await server.stop();

    server = await startServer({
      ...env,
      MQTT_AUTHD_ADMIN_TOKEN: newToken,
      MQTT_AUTHD_HOOK_SECRET: hookSecret,
    });
    expect((await api(server, { adminToken: newToken, hookSecret }, "GET", "/api/v1/clients")).status).toBe(
      200,
    );
    expect((await api(server, { adminToken: oldToken, hookSecret }, "GET", "/api/v1/clients")).status).toBe(
      401,
    );
  });
});
