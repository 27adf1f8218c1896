import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import request from "supertest";
import { afterEach, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../src/config.js";
import { sha256Hex } from "../../src/passwords/secrets.js";
import { HOOK_ENCODINGS } from "../helpers/api.js";
import {
  createTestContext,
  dbTarget,
  SECRET_HEADER,
  TEST_STORE,
  type TestContext,
} from "../helpers/context.js";
import { createPgDatabase } from "../helpers/pg.js";
import {
  childEnv,
  makeTempDir,
  processesExposing,
  removeDir,
  runCli,
  spawnCli,
} from "../helpers/processes.js";
import { type RemoteResponse, remoteApi, remoteHook } from "../helpers/remote.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { openTestDb, type TestDb } from "../helpers/test-db.js";

/**
 * The proof: run the main flows with known passwords, tokens and hook secret, then look for
 * each of them everywhere they must never be: the log, every table, the raw database and WAL bytes,
 * every process's command line and environment, every response that was not meant to carry it.
 */

/** A unique, greppable secret: nothing else in the run contains it by accident. */
const canary = (label: string) => `canary-${label}-${randomBytes(9).toString("hex")}`;

interface Seen {
  readonly label: string;
  readonly text: string;
  /** Secrets this response exists to hand out once (a generated password). */
  readonly carries: readonly string[];
}

/**
 * Where each secret surfaces, as readable lines. Passwords are also looked for as an unsalted
 * SHA-256 (that would be a leak too); tokens are not: their SHA-256 is what admin_tokens stores.
 */
function leaks(
  secrets: { readonly passwords: readonly string[]; readonly tokens: readonly string[] },
  places: Readonly<Record<string, string | Buffer>>,
): string[] {
  const found: string[] = [];
  const all = [...secrets.passwords, ...secrets.tokens];
  for (const secret of all) {
    const forms = secrets.passwords.includes(secret) ? [secret, sha256Hex(secret)] : [secret];
    for (const [where, content] of Object.entries(places)) {
      for (const form of forms) {
        const hit =
          typeof content === "string" ? content.includes(form) : content.includes(Buffer.from(form));
        if (hit) found.push(`${form === secret ? "" : "sha256 of "}${secret.slice(0, 20)}… in ${where}`);
      }
    }
  }
  return found;
}

function responseLeaks(
  secrets: { readonly passwords: readonly string[]; readonly tokens: readonly string[] },
  seen: readonly Seen[],
): string[] {
  const others = (list: readonly string[], s: Seen) => list.filter((secret) => !s.carries.includes(secret));
  return seen.flatMap((s) =>
    leaks(
      { passwords: others(secrets.passwords, s), tokens: others(secrets.tokens, s) },
      { [`response to ${s.label}`]: s.text },
    ),
  );
}

/** The scan reads real data: the token digests admin_tokens keeps by design are found by it. */
async function expectDigestsStored(tokens: readonly string[], db: TestDb, config: Config): Promise<void> {
  const tables = await db.dumpAllTables();
  const files = databaseFiles(config);
  const bytes = Buffer.concat(Object.values(files));
  for (const token of tokens) {
    expect(tables).toContain(sha256Hex(token));
    if (Object.keys(files).length > 0) expect(bytes.includes(Buffer.from(sha256Hex(token)))).toBe(true);
  }
}

/** The SQLite file and its WAL, byte for byte (PostgreSQL's files belong to the server: the tables are read instead). */
function databaseFiles(config: Config): Record<string, Buffer> {
  if (config.database.kind !== "sqlite") return {};
  const dbPath = config.database.path;
  const files: Record<string, Buffer> = { "database file": readFileSync(dbPath) };
  if (existsSync(`${dbPath}-wal`)) files["WAL file"] = readFileSync(`${dbPath}-wal`);
  return files;
}

/** Scans /proc until `done` settles (bounded), collecting every process that shows a secret. */
async function watchProcesses(secrets: readonly string[], done: Promise<unknown>): Promise<string[]> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  const exposed = new Set<string>();
  for (let scans = 0; scans < 2000 && (scans === 0 || !finished); scans++) {
    for (const secret of secrets) for (const p of processesExposing(secret)) exposed.add(p);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return [...exposed];
}

let ctx: TestContext | undefined;
let dir: string | undefined;
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL");
  server = undefined;
  await ctx?.close();
  ctx = undefined;
  if (dir !== undefined) removeDir(dir);
  dir = undefined;
});

describe("secrets never leak (in-process service, CLI beside it)", () => {
  it("no password, token or hook secret reaches the log, the database, a command line or a response", async () => {
    const adminToken = `mqa_${canary("admin-token")}`;
    const hookSecret = canary("hook-secret");
    ctx = await createTestContext({
      MQTT_AUTHD_ADMIN_TOKEN: adminToken,
      MQTT_AUTHD_HOOK_SECRET: hookSecret,
      MQTT_AUTHD_LOG_LEVEL: "trace",
    });
    const app = ctx.app;
    const auth = { authorization: `Bearer ${adminToken}` };
    const hook = { [SECRET_HEADER]: hookSecret };
    const chosen = canary("chosen");
    const rotated = canary("rotated");
    const wrong = canary("wrong");
    const inBadBodies = canary("bad-body");
    const viaCli = canary("cli-stdin");
    const wrongHookSecret = canary("wrong-hook-secret");
    const wrongToken = `mqa_${canary("wrong-token")}`;
    const seen: Seen[] = [];
    const see = (label: string, res: request.Response, carries: string[] = []) => {
      seen.push({ label, text: `${JSON.stringify(res.headers)}\n${res.text}`, carries });
      return res;
    };

    // Provisioning: a chosen password, a generated one, a rotation of each kind.
    see(
      "create chosen",
      await request(app).post("/api/v1/clients").set(auth).send({ username: "dev-chosen", password: chosen }),
    );
    const createdGenerated = await request(app)
      .post("/api/v1/clients")
      .set(auth)
      .send({ username: "dev-gen" });
    const generated = (createdGenerated.body as { password: string }).password;
    expect(generated).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    see("create generated", createdGenerated, [generated]);

    const rotatedGenerated = await request(app).post("/api/v1/clients/dev-gen/password").set(auth).send({});
    const generatedAgain = (rotatedGenerated.body as { password: string }).password;
    see("rotate to generated", rotatedGenerated, [generatedAgain]);
    expect(generatedAgain).toMatch(/^[A-Za-z0-9_-]{22,}$/);

    // The broker's side, in every encoding: allow, wrong password, unknown user, rotated password.
    const hookCall = (
      path: string,
      fields: Record<string, string>,
      encoding: (typeof HOOK_ENCODINGS)[number],
    ) => {
      const full = { clientid: "c1", peerhost: "10.0.0.1", ...fields };
      if (encoding === "json") return request(app).post(path).set(hook).send(full);
      if (encoding === "form") return request(app).post(path).set(hook).type("form").send(full);
      return request(app).get(path).set(hook).query(full);
    };
    for (const encoding of HOOK_ENCODINGS) {
      const allowed = see(
        `auth ${encoding}`,
        await hookCall("/mqtt/auth", { username: "dev-chosen", password: chosen }, encoding),
      );
      expect(allowed.body).toMatchObject({ result: "allow" });
      expect(
        see(
          "auth generated",
          await hookCall("/mqtt/auth", { username: "dev-gen", password: generatedAgain }, encoding),
        ).body,
      ).toMatchObject({ result: "allow" });
      see(
        "auth wrong",
        await hookCall("/mqtt/auth", { username: "dev-chosen", password: `${wrong}-${encoding}` }, encoding),
      );
      see(
        "auth old generated",
        await hookCall("/mqtt/auth", { username: "dev-gen", password: generated }, encoding),
      );
      see("auth unknown", await hookCall("/mqtt/auth", { username: "ghost", password: chosen }, encoding));
    }
    see(
      "rotate chosen",
      await request(app).post("/api/v1/clients/dev-chosen/password").set(auth).send({ password: rotated }),
    );
    expect(
      see("auth rotated", await hookCall("/mqtt/auth", { username: "dev-chosen", password: rotated }, "json"))
        .body,
    ).toMatchObject({ result: "allow" });
    see(
      "auth pre-rotation",
      await hookCall("/mqtt/auth", { username: "dev-chosen", password: chosen }, "query"),
    );

    // Topic authorization.
    see(
      "set acl",
      await request(app)
        .put("/api/v1/clients/dev-chosen/acl")
        .set(auth)
        .send({ rules: [{ permission: "allow", action: "publish", topic: "sensors/+/#" }] }),
    );
    for (const encoding of HOOK_ENCODINGS) {
      const acl = await hookCall(
        "/mqtt/acl",
        { username: "dev-chosen", topic: "sensors/c1/t", action: "publish" },
        encoding,
      );
      expect(see(`acl ${encoding}`, acl).body).toEqual({ result: "allow" });
    }
    see(
      "acl check",
      await request(app)
        .get("/api/v1/clients/dev-chosen/acl/check?action=publish&topic=sensors/c1/t")
        .set(auth),
    );
    see("read client", await request(app).get("/api/v1/clients/dev-chosen").set(auth));
    see("list clients", await request(app).get("/api/v1/clients").set(auth));
    see("audit", await request(app).get("/api/v1/audit").set(auth));
    see("failures", await request(app).get("/api/v1/login-failures").set(auth));

    // Failing requests that carry a secret in their body, headers or query.
    const failing: [string, request.Test][] = [
      [
        "control char username",
        request(app).post("/api/v1/clients").set(auth).send({ username: "bad\u0001", password: inBadBodies }),
      ],
      [
        "unknown field",
        request(app)
          .post("/api/v1/clients")
          .set(auth)
          .send({ username: "x-bad", password: inBadBodies, extra: 1 }),
      ],
      [
        "duplicate",
        request(app)
          .post("/api/v1/clients")
          .set(auth)
          .send({ username: "dev-chosen", password: inBadBodies }),
      ],
      [
        "NUL in password",
        request(app)
          .post("/api/v1/clients")
          .set(auth)
          .send({ username: "x-nul", password: `${inBadBodies}\u0000` }),
      ],
      [
        "too long",
        request(app)
          .post("/api/v1/clients")
          .set(auth)
          .send({ username: "x-long", password: inBadBodies.repeat(60) }),
      ],
      [
        "not a string",
        request(app)
          .post("/api/v1/clients")
          .set(auth)
          .send({ username: "x-type", password: { nested: inBadBodies } }),
      ],
      [
        "password as username",
        request(app)
          .post("/api/v1/clients")
          .set(auth)
          .send({ username: ` ${inBadBodies}`, password: inBadBodies }),
      ],
      [
        "invalid JSON",
        request(app)
          .post("/api/v1/clients")
          .set(auth)
          .set("content-type", "application/json")
          .send(`{"username":"x","password":"${inBadBodies}"`),
      ],
      [
        "text/plain",
        request(app)
          .post("/api/v1/clients")
          .set(auth)
          .set("content-type", "text/plain")
          .send(`password=${inBadBodies}`),
      ],
      [
        "rotate unknown field",
        request(app)
          .post("/api/v1/clients/dev-chosen/password")
          .set(auth)
          .send({ password: inBadBodies, x: 1 }),
      ],
      [
        "rotate ghost",
        request(app).post("/api/v1/clients/ghost/password").set(auth).send({ password: inBadBodies }),
      ],
      [
        "patch with password",
        request(app).patch("/api/v1/clients/dev-chosen").set(auth).send({ password: inBadBodies }),
      ],
      [
        "wrong token",
        request(app)
          .get("/api/v1/clients")
          .set({ authorization: `Bearer ${wrongToken}` }),
      ],
      ["token in a query", request(app).get(`/api/v1/clients?token=${adminToken}`).set(auth)],
      [
        "hook: number username",
        request(app).post("/mqtt/auth").set(hook).send({ username: 5, password: inBadBodies }),
      ],
      [
        "hook: repeated field",
        request(app).get(`/mqtt/auth?username=a&username=b&password=${inBadBodies}`).set(hook),
      ],
      [
        "hook: no secret",
        request(app).post("/mqtt/auth").send({ username: "dev-chosen", password: rotated }),
      ],
      [
        "hook: wrong secret",
        request(app)
          .post("/mqtt/auth")
          .set({ [SECRET_HEADER]: wrongHookSecret })
          .send({ username: "dev-chosen", password: rotated }),
      ],
      [
        "hook: text/plain",
        request(app)
          .post("/mqtt/auth")
          .set(hook)
          .set("content-type", "text/plain")
          .send(`password=${inBadBodies}`),
      ],
      [
        "hook: too large",
        request(app)
          .post("/mqtt/auth")
          .set(hook)
          .send({ username: "dev-chosen", password: inBadBodies.repeat(6000) }),
      ],
      [
        "hook: bad action",
        request(app)
          .post("/mqtt/acl")
          .set(hook)
          .send({ username: "dev-chosen", topic: "t", action: inBadBodies }),
      ],
    ];
    for (const [label, pending] of failing) {
      const res = see(label, await pending);
      expect(res.status, `${label}: ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, label).toBeLessThan(500);
    }

    // The CLI beside the service: a password on stdin, a token printed once.
    const env = childEnv({ MQTT_AUTHD_DB: dbTarget(ctx.config) });
    const add = spawnCli(["client", "add", "dev-cli", "--password-stdin"], env);
    add.child.stdin.end(`${viaCli}\n`);
    const exposed = await watchProcesses([viaCli, adminToken, hookSecret], add.done);
    const added = await add.done;
    expect(added.code, added.stderr).toBe(0);
    expect(exposed).toEqual([]);
    expect(added.stdout + added.stderr).not.toContain(viaCli);

    const tokenRun = await runCli(["token", "create", "leak-check"], env);
    expect(tokenRun.code, tokenRun.stderr).toBe(0);
    const cliToken = tokenRun.stdout.trim();
    expect(cliToken).toMatch(/^mqa_/);
    expect(tokenRun.stderr).not.toContain(cliToken);
    const viaCliToken = await request(app)
      .get("/api/v1/clients/dev-cli")
      .set({ authorization: `Bearer ${cliToken}` });
    expect(see("read with CLI token", viaCliToken).status).toBe(200);
    expect(
      see("auth cli client", await hookCall("/mqtt/auth", { username: "dev-cli", password: viaCli }, "form"))
        .body,
    ).toMatchObject({
      result: "allow",
    });

    await ctx.services.events.flush();
    const secrets = {
      passwords: [
        chosen,
        rotated,
        wrong,
        inBadBodies,
        viaCli,
        generated,
        generatedAgain,
        hookSecret,
        wrongHookSecret,
        wrongToken,
      ],
      tokens: [adminToken, adminToken.slice(4), cliToken, cliToken.slice(4)],
    };
    await expectDigestsStored([adminToken, cliToken], ctx.db, ctx.config);
    const logs = ctx.logs.join("");
    // The trace log did run: a silent logger would prove nothing.
    expect(logs).toContain("authn deny");
    expect(logs).toContain('"msg":"request"');
    expect(
      leaks(secrets, {
        log: logs,
        "a table": await ctx.db.dumpAllTables(),
        ...databaseFiles(ctx.config),
      }),
    ).toEqual([]);
    expect(responseLeaks(secrets, seen)).toEqual([]);
  });
});

describe("secrets never leak (the real server at LOG_LEVEL=trace)", () => {
  it("keeps every secret out of its output, its database, and every command line and environment", async () => {
    dir = makeTempDir();
    // The project's store: a file here, or a new PostgreSQL database.
    const pgDb = TEST_STORE === "postgres" ? await createPgDatabase() : null;
    const dbValue = pgDb?.url ?? join(dir, "mqtt-authd.db");
    const adminToken = `mqa_${canary("server-admin-token")}`;
    const hookSecret = canary("server-hook-secret");
    // Secrets from files: the process's environment (readable in /proc) must not carry them either.
    writeFileSync(join(dir, "admin-token.secret"), `${adminToken}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "hook.secret"), `${hookSecret}\n`, { mode: 0o600 });
    server = await startServer(
      childEnv({
        MQTT_AUTHD_DB: dbValue,
        MQTT_AUTHD_LOG_LEVEL: "trace",
        MQTT_AUTHD_ADMIN_TOKEN_FILE: join(dir, "admin-token.secret"),
        MQTT_AUTHD_HOOK_SECRET_FILE: join(dir, "hook.secret"),
      }),
    );
    const base = server.baseUrl;
    const chosen = canary("server-chosen");
    const wrong = canary("server-wrong");
    const inBadBodies = canary("server-bad-body");
    const seen: Seen[] = [];
    const see = (label: string, res: RemoteResponse, carries: string[] = []) => {
      seen.push({ label, text: `${JSON.stringify([...res.headers])}\n${res.text}`, carries });
      return res;
    };

    expect(
      see(
        "create",
        await remoteApi(base, adminToken, "POST", "/api/v1/clients", { username: "dev1", password: chosen }),
      ).status,
    ).toBe(201);
    const created = await remoteApi(base, adminToken, "POST", "/api/v1/clients", { username: "dev2" });
    const generated = (created.body as { password: string }).password;
    see("create generated", created, [generated]);
    for (const encoding of HOOK_ENCODINGS) {
      expect(
        see("allow", await remoteHook(base, hookSecret, { username: "dev1", password: chosen }, encoding))
          .body,
      ).toMatchObject({
        result: "allow",
      });
      see(
        "allow generated",
        await remoteHook(base, hookSecret, { username: "dev2", password: generated }, encoding),
      );
      see(
        "wrong",
        await remoteHook(base, hookSecret, { username: "dev1", password: `${wrong}${encoding}` }, encoding),
      );
      see(
        "acl",
        await remoteHook(
          base,
          hookSecret,
          { username: "dev1", topic: "a/b", action: "subscribe" },
          encoding,
          "/mqtt/acl",
        ),
      );
    }
    see(
      "bad body",
      await remoteApi(base, adminToken, "POST", "/api/v1/clients", {
        username: "x\u0002",
        password: inBadBodies,
      }),
    );
    see("wrong token", await remoteApi(base, inBadBodies, "GET", "/api/v1/clients"));
    see("wrong hook secret", await remoteHook(base, inBadBodies, { username: "dev1", password: chosen }));
    const invalidJson = await fetch(`${base}/mqtt/auth`, {
      method: "POST",
      headers: { [SECRET_HEADER]: hookSecret, "content-type": "application/json" },
      body: `{"username":"dev1","password":"${inBadBodies}"`,
    });
    see("invalid JSON", {
      status: invalidJson.status,
      headers: invalidJson.headers,
      text: await invalidJson.text(),
      body: undefined,
    });

    const secrets = {
      passwords: [chosen, wrong, inBadBodies, generated, hookSecret],
      tokens: [adminToken, adminToken.slice(4)],
    };
    const exposed = await watchProcesses([...secrets.passwords, ...secrets.tokens], Promise.resolve());
    expect(exposed).toEqual([]);

    expect(await server.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    const output = server.output();
    expect(server.logLines().some((l) => l.level === 10 || l.level === 20)).toBe(true);
    expect(output).toContain("authn deny");
    const config = loadConfig({ MQTT_AUTHD_DB: dbValue });
    const db = openTestDb(config.database);
    try {
      await expectDigestsStored([adminToken], db, config);
      expect(
        leaks(secrets, {
          "server output": output,
          "a table": await db.dumpAllTables(),
          ...databaseFiles(config),
        }),
      ).toEqual([]);
    } finally {
      await db.close();
      await pgDb?.drop();
    }
    expect(responseLeaks(secrets, seen)).toEqual([]);
  });
});
