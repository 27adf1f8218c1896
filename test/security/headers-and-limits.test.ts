import { join } from "node:path";
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { provision } from "../helpers/api.js";
import {
  bearer,
  createTestContext,
  hookHeaders,
  SECRET_HEADER,
  type TestContext,
} from "../helpers/context.js";
import { childEnv, makeTempDir, removeDir } from "../helpers/processes.js";
import { createRawClient } from "../helpers/raw-http.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";

/**
 * The provisioning API's and the hooks' outer walls: headers on every answer, body size and JSON
 * depth limits, token scopes and revocation, the content types the hooks take, request ids.
 */

const PASSWORD = "correct horse battery";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
  await provision(ctx, { username: "dev1", password: PASSWORD });
});
afterEach(() => ctx.close());

/** Every table but the bookkeeping a request may write by design (token last use, failed logins). */
function tablesNow(on: TestContext, opts: { withLoginFailures: boolean }): Promise<string> {
  return on.db.snapshot({
    excluded: opts.withLoginFailures ? [] : ["login_failures"],
    ignoredColumns: { admin_tokens: ["last_used_at"] },
  });
}

function expectErrorShape(res: request.Response, status: number, code?: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(res.body).toEqual({
    error: {
      code: code ?? expect.any(String),
      message: expect.any(String),
      ...(res.body.error?.details && { details: expect.anything() }),
    },
  });
}

describe("security headers", () => {
  it("are on every answer: API success and errors, hooks, health, metrics", async () => {
    const answers: [string, request.Test][] = [
      ["API list", request(ctx.app).get("/api/v1/clients").set(bearer)],
      ["API create", request(ctx.app).post("/api/v1/clients").set(bearer).send({ username: "dev2" })],
      ["API without token", request(ctx.app).get("/api/v1/clients")],
      ["API not found", request(ctx.app).get("/api/v1/clients/nobody").set(bearer)],
      ["API invalid", request(ctx.app).post("/api/v1/clients").set(bearer).send({ username: "" })],
      [
        "hook",
        request(ctx.app).post("/mqtt/auth").set(hookHeaders).send({ username: "dev1", password: PASSWORD }),
      ],
      [
        "hook without secret",
        request(ctx.app).post("/mqtt/auth").send({ username: "dev1", password: PASSWORD }),
      ],
      ["healthz", request(ctx.app).get("/healthz")],
      ["readyz", request(ctx.app).get("/readyz")],
      ["metrics", request(ctx.app).get("/metrics").set(bearer)],
      ["no route", request(ctx.app).get("/no/such/route")],
    ];
    for (const [label, pending] of answers) {
      const res = await pending;
      const where = `${label} → ${res.status}`;
      expect(res.headers["cache-control"], where).toBe("no-store");
      expect(res.headers["x-content-type-options"], where).toBe("nosniff");
      expect(res.headers["content-security-policy"], where).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
      expect(res.headers["x-frame-options"], where).toBe("DENY");
      expect(res.headers["referrer-policy"], where).toBe("no-referrer");
      expect(res.headers["cross-origin-resource-policy"], where).toBe("same-origin");
      expect(res.headers["x-powered-by"], where).toBeUndefined();
    }
  });
});

describe("body size limits", () => {
  const bodyOfSize = (bytes: number) => {
    const frame = JSON.stringify({ username: "big", description: "" });
    return JSON.stringify({ username: "big", description: "d".repeat(bytes - frame.length) });
  };

  it("refuses an API body over 64 kB with 413 and the error shape, and reads one just under", async () => {
    for (const [method, path] of [
      ["post", "/api/v1/clients"],
      ["patch", "/api/v1/clients/dev1"],
      ["put", "/api/v1/clients/dev1/acl"],
      ["post", "/api/v1/roles"],
    ] as const) {
      const over = await request(ctx.app)
        [method](path)
        .set(bearer)
        .set("content-type", "application/json")
        .send(bodyOfSize(64 * 1024 + 1));
      expectErrorShape(over, 413, "payload_too_large");
      // Just under: parsed, then refused by the schema (400), not by the size limit.
      const under = await request(ctx.app)
        [method](path)
        .set(bearer)
        .set("content-type", "application/json")
        .send(bodyOfSize(64 * 1024 - 16));
      expect(under.status, `${method} ${path}: ${under.text}`).toBe(400);
    }
  });

  it("refuses a hook body over 200 kB with 413, and still decides one just under", async () => {
    const frame = JSON.stringify({ username: "dev1", password: "" });
    const sized = (bytes: number) =>
      JSON.stringify({ username: "dev1", password: "p".repeat(bytes - frame.length) });
    const over = await request(ctx.app)
      .post("/mqtt/auth")
      .set(hookHeaders)
      .set("content-type", "application/json")
      .send(sized(200 * 1024 + 1));
    expectErrorShape(over, 413, "payload_too_large");
    // Under the body limit but over the field's 64 KiB: a 400; a long password inside it: a deny.
    const under = await request(ctx.app)
      .post("/mqtt/auth")
      .set(hookHeaders)
      .set("content-type", "application/json")
      .send(sized(200 * 1024 - 16));
    expectErrorShape(under, 400, "invalid_request");
    const denied = await request(ctx.app)
      .post("/mqtt/auth")
      .set(hookHeaders)
      .set("content-type", "application/json")
      .send(sized(60 * 1024));
    expect(denied.status).toBe(200);
    expect(denied.body).toEqual({ result: "deny" });
  });
});

describe("JSON depth", () => {
  // 32,000 levels fit in 64 kB: the deepest body the API can receive at all.
  const deepArray = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

  it("refuses deeply nested bodies with a 4xx (hooks: 4xx or deny) on every JSON route; the service keeps answering", async () => {
    const bodies = [
      deepArray(10_000),
      deepArray(32_000),
      deepObject(10_000),
      `{"username":"deep","description":${deepObject(9_000)}}`,
      `{"rules":[${deepArray(20_000)}]}`,
    ];
    const routes = [
      ["post", "/api/v1/clients"],
      ["patch", "/api/v1/clients/dev1"],
      ["post", "/api/v1/clients/dev1/password"],
      ["put", "/api/v1/clients/dev1/acl"],
      ["post", "/api/v1/roles"],
      ["post", "/mqtt/auth"],
      ["post", "/mqtt/acl"],
    ] as const;
    // A hook's deny is recorded in login_failures, as every deny is.
    const before = await tablesNow(ctx, { withLoginFailures: false });
    for (const [method, path] of routes) {
      for (const body of bodies) {
        const res = await request(ctx.app)
          [method](path)
          .set(path.startsWith("/mqtt") ? hookHeaders : bearer)
          .set("content-type", "application/json")
          .send(body);
        const label = `${method} ${path} (${body.length} bytes): ${res.text.slice(0, 200)}`;
        // The hooks ignore fields they do not know (operators template extra ones in): a nested
        // stranger leaves an empty username, which is the documented deny.
        if (path.startsWith("/mqtt") && res.status === 200) {
          expect(res.body, label).toEqual({ result: "deny" });
          continue;
        }
        expect(res.status, label).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        expect(res.body.error.code).toMatch(/^(invalid_request|invalid_json|payload_too_large)$/);
      }
    }
    expect(await tablesNow(ctx, { withLoginFailures: false })).toBe(before);
    expect((await request(ctx.app).get("/healthz")).status).toBe(200);
  });
});

describe("token scopes and revocation", () => {
  it("a read token reads, and every write with it is refused 403 without a change", async () => {
    const readToken = await ctx.services.tokens.create("reader", "read", "test");
    const asReader = { authorization: `Bearer ${readToken}` };
    expect((await request(ctx.app).get("/api/v1/clients").set(asReader)).status).toBe(200);
    expect((await request(ctx.app).get("/api/v1/clients/dev1/acl").set(asReader)).status).toBe(200);
    expect((await request(ctx.app).get("/api/v1/lockouts").set(asReader)).status).toBe(200);
    expect((await request(ctx.app).get("/api/v1/audit").set(asReader)).status).toBe(200);
    expect((await request(ctx.app).get("/metrics").set(asReader)).status).toBe(200);

    const before = await tablesNow(ctx, { withLoginFailures: true });
    const writes = [
      request(ctx.app).post("/api/v1/clients").set(asReader).send({ username: "dev9", password: PASSWORD }),
      request(ctx.app).patch("/api/v1/clients/dev1").set(asReader).send({ enabled: false }),
      request(ctx.app).post("/api/v1/clients/dev1/password").set(asReader).send({}),
      request(ctx.app).delete("/api/v1/clients/dev1").set(asReader),
      request(ctx.app).put("/api/v1/clients/dev1/acl").set(asReader).send({ roles: [] }),
      request(ctx.app).post("/api/v1/roles").set(asReader).send({ name: "r1" }),
      request(ctx.app).delete("/api/v1/lockouts?username=dev1").set(asReader),
    ];
    for (const pending of writes) {
      const res = await pending;
      expectErrorShape(res, 403, "forbidden");
      expect(res.body.error.message).toContain("'read'");
    }
    expect(await tablesNow(ctx, { withLoginFailures: true })).toBe(before);
  });

  it("a revoked token is refused 401, as is a never-issued one", async () => {
    const token = await ctx.services.tokens.create("temporary", "admin", "test");
    const asTemp = { authorization: `Bearer ${token}` };
    expect((await request(ctx.app).get("/api/v1/clients").set(asTemp)).status).toBe(200);
    await ctx.services.tokens.revoke("temporary", "test");
    for (const auth of [asTemp, { authorization: `Bearer mqa_${"x".repeat(43)}` }]) {
      const res = await request(ctx.app).get("/api/v1/clients").set(auth);
      expectErrorShape(res, 401, "unauthorized");
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="mqtt-authd"');
    }
  });

  it("audits every admin change with the name of the token that made it", async () => {
    const token = await ctx.services.tokens.create("provisioner", "admin", "test");
    const auth = { authorization: `Bearer ${token}` };
    await request(ctx.app)
      .post("/api/v1/clients")
      .set(auth)
      .send({ username: "dev2", password: PASSWORD })
      .expect(201);
    await request(ctx.app).patch("/api/v1/clients/dev2").set(auth).send({ description: "x" }).expect(200);
    await request(ctx.app).post("/api/v1/clients/dev2/password").set(auth).send({}).expect(200);
    await request(ctx.app).put("/api/v1/clients/dev2/acl").set(auth).send({ roles: [] }).expect(200);
    await request(ctx.app).delete("/api/v1/clients/dev2").set(auth).expect(204);
    const actions = (await ctx.db.auditRows())
      .filter((r) => r.target === "dev2")
      .map((r) => [r.actor, r.action]);
    expect(actions.length).toBeGreaterThanOrEqual(5);
    for (const [actor] of actions) expect(actor).toBe("token:provisioner");
  });
});

describe("what the hooks accept", () => {
  it("takes application/json, a form and GET query parameters", async () => {
    const fields = { username: "dev1", password: PASSWORD, clientid: "c1", peerhost: "10.0.0.1" };
    const answers = [
      await request(ctx.app)
        .post("/mqtt/auth")
        .set(hookHeaders)
        .set("content-type", "application/json")
        .send(JSON.stringify(fields)),
      await request(ctx.app)
        .post("/mqtt/auth")
        .set(hookHeaders)
        .set("content-type", "application/json; charset=utf-8")
        .send(JSON.stringify(fields)),
      await request(ctx.app).post("/mqtt/auth").set(hookHeaders).type("form").send(fields),
      await request(ctx.app).get("/mqtt/auth").set(hookHeaders).query(fields),
    ];
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ result: "allow" });
    }
  });

  it("refuses any other content type with 415", async () => {
    const body = `username=dev1&password=${encodeURIComponent(PASSWORD)}`;
    for (const type of [
      "text/plain",
      "multipart/form-data; boundary=xyz",
      "application/xml",
      "application/octet-stream",
      "application/json; charset=latin1",
    ]) {
      for (const path of ["/mqtt/auth", "/mqtt/acl"]) {
        const res = await request(ctx.app).post(path).set(hookHeaders).set("content-type", type).send(body);
        expectErrorShape(res, 415, "unsupported_media_type");
      }
    }
    const none = await request(ctx.app).post("/mqtt/auth").set(hookHeaders).send(Buffer.from(body));
    expectErrorShape(none, 415, "unsupported_media_type");
  });

  it("refuses other methods with a 4xx in the error shape", async () => {
    for (const method of ["put", "patch", "delete"] as const) {
      const res = await request(ctx.app)
        [method]("/mqtt/auth")
        .set(hookHeaders)
        .send({ username: "dev1", password: PASSWORD });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body).toMatchObject({ error: { code: expect.any(String) } });
    }
  });

  it("the provisioning API takes JSON bodies only (415 otherwise)", async () => {
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      const res = await request(ctx.app)
        .post("/api/v1/clients")
        .set(bearer)
        .set("content-type", type)
        .send("username=dev3");
      expectErrorShape(res, 415, "unsupported_media_type");
    }
  });
});

describe("OPTIONS", () => {
  // Left alone, Express answers OPTIONS itself (200 text/plain "GET, HEAD, POST") on any path with a
  // route, outside the closed error list; the service answers no preflight: a 405.
  it("is answered in the JSON error shape (405 method_not_allowed), like every other unsupported request", async () => {
    for (const [path, headers] of [
      ["/api/v1/clients", bearer],
      ["/api/v1/clients/dev1", bearer],
      ["/mqtt/auth", hookHeaders],
      ["/healthz", {}],
    ] as const) {
      const res = await request(ctx.app).options(path).set(headers);
      expectErrorShape(res, 405, "method_not_allowed");
    }
  });
});

describe("request ids", () => {
  it("echoes a well-formed x-request-id, on success and on errors", async () => {
    for (const pending of [
      request(ctx.app).get("/api/v1/clients").set(bearer),
      request(ctx.app).get("/api/v1/clients"),
      request(ctx.app).post("/mqtt/auth").set(hookHeaders).send({ username: "dev1", password: PASSWORD }),
      request(ctx.app).get("/nowhere"),
    ]) {
      const res = await pending.set("x-request-id", "trace-42.a_b");
      expect(res.headers["x-request-id"]).toBe("trace-42.a_b");
    }
  });

  it("replaces a malformed or over-long one with its own, and gives one when none came", async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const incoming of ["has space", "x".repeat(65), "<script>", "a\tb"]) {
      const res = await request(ctx.app).get("/healthz").set("x-request-id", incoming);
      expect(res.headers["x-request-id"]).toMatch(uuid);
    }
    const none = await request(ctx.app).get("/healthz");
    expect(none.headers["x-request-id"]).toMatch(uuid);
    expect(ctx.logs.join("")).not.toContain("<script>");
  });
});

describe("over-long request lines (the real server)", () => {
  let dir: string;
  let server: ServerProcess | undefined;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    await server?.stop("SIGKILL");
    server = undefined;
    removeDir(dir);
  });

  // Node refuses a request line + headers over 16 KiB itself (by default a bare 431, no body) before
  // the app runs. EMQX's GET encoding puts the password in the URL, and a hook field may be 64 KiB long.
  it("answers a hook GET beyond the header limit in the JSON error shape, and keeps serving", async () => {
    const hookSecret = "limits-test-hook-secret-0123456789";
    server = await startServer(
      childEnv({
        MQTT_AUTHD_DB: join(dir, "a.db"),
        MQTT_AUTHD_HOOK_SECRET: hookSecret,
        MQTT_AUTHD_LOG_LEVEL: "info",
      }),
    );
    const raw = createRawClient({ host: "127.0.0.1", port: server.port });
    try {
      const res = await raw.send({
        method: "GET",
        path: `/mqtt/auth?username=dev1&password=${"p".repeat(20_000)}`,
        headers: { [SECRET_HEADER]: hookSecret },
      });
      expect(res.status).toBe(431);
      expect(res.headers["content-type"] ?? "(no content type)").toMatch(/^application\/json/);
      expect(JSON.parse(res.text)).toEqual({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    } finally {
      raw.close();
      expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    }
  });
});
