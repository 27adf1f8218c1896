import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authDecision, provision } from "../helpers/api.js";
import { ADMIN_TOKEN, bearer, createTestContext, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const PASSWORD = "correct horse battery";
/** base64url of at least 16 bytes (128 bits). */
const GENERATED = /^[A-Za-z0-9_-]{22,}$/;

/** One request to each provisioning route, for checks that must hold on all of them. */
const ROUTES: ReadonlyArray<{ method: "get" | "post" | "patch" | "delete"; path: string; body?: object }> = [
  { method: "get", path: "/api/v1/clients" },
  { method: "get", path: "/api/v1/clients/dev1" },
  { method: "post", path: "/api/v1/clients", body: { username: "dev2", password: PASSWORD } },
  { method: "patch", path: "/api/v1/clients/dev1", body: { description: "x" } },
  { method: "post", path: "/api/v1/clients/dev1/password", body: { password: "another secret" } },
  { method: "delete", path: "/api/v1/clients/dev1" },
];

function send(route: (typeof ROUTES)[number], headers: Record<string, string>): request.Test {
  const req = request(ctx.app)[route.method](route.path).set(headers);
  return route.body === undefined ? req : req.send(route.body);
}

function expectError(res: request.Response, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ error: { code, message: expect.any(String) } });
}

describe("provisioning API: authentication", () => {
  it("answers 401 on every route without a token, and changes nothing", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const before = (await ctx.db.auditRows()).length;
    for (const route of ROUTES) {
      const res = await send(route, {});
      expectError(res, 401, "unauthorized");
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
    expect(await ctx.db.auditRows()).toHaveLength(before);
    expect(await ctx.services.store.findClient("dev1")).not.toBeNull();
  });

  it("answers 401 on every route with a wrong, malformed or revoked token", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const revoked = await ctx.services.tokens.create("old", "admin", "test");
    await ctx.services.tokens.revoke("old", "test");
    const wrong = [
      { authorization: "Bearer mqa_not-a-real-token-000000000000000000000" },
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` },
      { authorization: ADMIN_TOKEN },
      { authorization: `Bearer ${revoked}` },
    ];
    for (const headers of wrong) {
      for (const route of ROUTES) expectError(await send(route, headers), 401, "unauthorized");
    }
    expect(await ctx.services.store.findClient("dev1")).not.toBeNull();
  });

  it("accepts the Bearer scheme in any letter case (RFC 7235 §2.1)", async () => {
    for (const scheme of ["bearer", "BEARER"]) {
      const res = await request(ctx.app)
        .get("/api/v1/clients")
        .set({ authorization: `${scheme} ${ADMIN_TOKEN}` });
      expect(res.status, scheme).toBe(200);
    }
  });

  it("answers 403 to a read-scope token on every write, and lets it read", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const read = { authorization: `Bearer ${await ctx.services.tokens.create("viewer", "read", "test")}` };
    const before = (await ctx.db.auditRows()).length;
    for (const route of ROUTES.filter((r) => r.method !== "get")) {
      expectError(await send(route, read), 403, "forbidden");
    }
    expect(await ctx.db.auditRows()).toHaveLength(before);
    expect(await ctx.services.store.findClient("dev2")).toBeNull();
    expect((await authDecision(ctx, { username: "dev1", password: PASSWORD })).result).toBe("allow");

    const list = await request(ctx.app).get("/api/v1/clients").set(read);
    expect(list.status).toBe(200);
    expect(list.body.data.map((c: { username: string }) => c.username)).toEqual(["dev1"]);
    const one = await request(ctx.app).get("/api/v1/clients/dev1").set(read);
    expect(one.status).toBe(200);
    expect(one.body.username).toBe("dev1");
  });

  it("records when a token was last used", async () => {
    await request(ctx.app).get("/api/v1/clients").set(bearer).expect(200);
    const tokens = await ctx.services.tokens.list();
    expect(tokens.find((t) => t.name === "configured")?.last_used_at).not.toBeNull();
  });
});

describe("POST /api/v1/clients", () => {
  it("creates a client with a generated password of at least 128 bits, returned once", async () => {
    const res = await request(ctx.app).post("/api/v1/clients").set(bearer).send({ username: "dev1" });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe("/api/v1/clients/dev1");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body).toMatchObject({
      username: "dev1",
      state: "active",
      enabled: true,
      is_superuser: false,
      client_id: null,
      expires_at: null,
      description: "",
      password_origin: "generated",
      last_login_at: null,
    });
    const password = res.body.password as string;
    expect(password).toMatch(GENERATED);
    expect((await authDecision(ctx, { username: "dev1", password })).result).toBe("allow");

    const one = await request(ctx.app).get("/api/v1/clients/dev1").set(bearer);
    const list = await request(ctx.app).get("/api/v1/clients").set(bearer);
    for (const later of [one, list]) {
      expect(later.status).toBe(200);
      expect(later.text).not.toContain(password);
    }
    expect(one.body).not.toHaveProperty("password");
  });

  it("generates a different password for each client", async () => {
    const a = await provision(ctx, { username: "a" });
    const b = await provision(ctx, { username: "b" });
    expect(a.password).not.toBe(b.password);
  });

  it("creates a client with a supplied password and never echoes it", async () => {
    const res = await request(ctx.app)
      .post("/api/v1/clients")
      .set(bearer)
      .send({ username: "dev1", password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty("password");
    expect(res.body.password_origin).toBe("chosen");
    expect(res.text).not.toContain(PASSWORD);
    expect((await authDecision(ctx, { username: "dev1", password: PASSWORD })).result).toBe("allow");
  });

  it("stores every optional field, with expires_at normalized to UTC", async () => {
    const res = await request(ctx.app).post("/api/v1/clients").set(bearer).send({
      username: "dev1",
      password: PASSWORD,
      client_id: "sensor-1",
      is_superuser: true,
      enabled: false,
      expires_at: "2099-01-31T02:00:00+02:00",
      description: "boiler room",
    });
    expect(res.status).toBe(201);
    const expected = {
      username: "dev1",
      client_id: "sensor-1",
      is_superuser: true,
      enabled: false,
      state: "disabled",
      expires_at: "2099-01-31T00:00:00.000Z",
      description: "boiler room",
    };
    expect(res.body).toMatchObject(expected);
    expect((await request(ctx.app).get("/api/v1/clients/dev1").set(bearer)).body).toMatchObject(expected);
  });

  it("answers 409 for an existing username and keeps the existing password", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const res = await request(ctx.app)
      .post("/api/v1/clients")
      .set(bearer)
      .send({ username: "dev1", password: "some other password" });
    expectError(res, 409, "conflict");
    expect((await authDecision(ctx, { username: "dev1", password: PASSWORD })).result).toBe("allow");
    expect((await ctx.db.auditRows()).filter((r) => r.action === "client.create")).toHaveLength(1);
  });

  it.each([
    ["an empty username", { username: "" }, "username"],
    ["a username with a control character", { username: "dev\u0001one" }, "username"],
    ["a username with a newline", { username: "dev\none" }, "username"],
    ["a username over 256 characters", { username: "u".repeat(257) }, "username"],
    ["a username with surrounding spaces", { username: " dev1" }, "username"],
    ["a missing username", { password: PASSWORD }, "username"],
    ["a non-string username", { username: 42 }, "username"],
    ["an unknown field", { username: "dev1", role: "admin" }, ""],
    ["an expires_at that is not a date-time", { username: "dev1", expires_at: "tomorrow" }, "expires_at"],
    [
      "an expires_at without a time zone",
      { username: "dev1", expires_at: "2099-01-01T00:00:00" },
      "expires_at",
    ],
    ["a password under the minimum length", { username: "dev1", password: "short" }, "password"],
    ["a password with a NUL character", { username: "dev1", password: "abc\u0000defghij" }, "password"],
    ["a password over the maximum size", { username: "dev1", password: "p".repeat(1025) }, "password"],
    ["a non-boolean is_superuser", { username: "dev1", is_superuser: "yes" }, "is_superuser"],
    ["a client_id with a control character", { username: "dev1", client_id: "a\u0000b" }, "client_id"],
  ])("answers 400 with details for %s", async (_what, body, path) => {
    const res = await request(ctx.app).post("/api/v1/clients").set(bearer).send(body);
    expectError(res, 400, "invalid_request");
    expect(Array.isArray(res.body.error.details)).toBe(true);
    expect(res.body.error.details[0]).toMatchObject({ path, message: expect.any(String) });
    expect(await ctx.services.store.listClients({ limit: 10 })).toEqual([]);
  });

  it("answers 413 for a body over 64 kB", async () => {
    const res = await request(ctx.app)
      .post("/api/v1/clients")
      .set(bearer)
      .send({ username: "dev1", description: "d".repeat(70 * 1024) });
    expectError(res, 413, "payload_too_large");
  });

  it("answers 415 for a body that is not JSON", async () => {
    const form = await request(ctx.app)
      .post("/api/v1/clients")
      .set(bearer)
      .type("form")
      .send({ username: "dev1", password: PASSWORD });
    expectError(form, 415, "unsupported_media_type");
    const text = await request(ctx.app)
      .post("/api/v1/clients")
      .set(bearer)
      .set("content-type", "text/plain")
      .send(JSON.stringify({ username: "dev1" }));
    expectError(text, 415, "unsupported_media_type");
    expect(await ctx.services.store.findClient("dev1")).toBeNull();
  });

  it("answers 400 invalid_json for a malformed JSON body", async () => {
    const res = await request(ctx.app)
      .post("/api/v1/clients")
      .set(bearer)
      .set("content-type", "application/json")
      .send('{"username": "dev1",');
    expectError(res, 400, "invalid_json");
  });

  it("checks the token before it reads the body", async () => {
    const res = await request(ctx.app)
      .post("/api/v1/clients")
      .set("content-type", "application/json")
      .send('{"username": ');
    expectError(res, 401, "unauthorized");
  });
});

describe("GET /api/v1/clients", () => {
  const names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"];

  it("walks every client exactly once, in username order, following next_after", async () => {
    for (const username of [...names].reverse()) await provision(ctx, { username, password: PASSWORD });
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res = await request(ctx.app)
        .get("/api/v1/clients")
        .set(bearer)
        .query({ limit: 3, ...(after !== null && { after }) });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.data.map((c: { username: string }) => c.username));
      after = res.body.next_after as string | null;
      pages += 1;
    } while (after !== null && pages < 10);
    expect(seen).toEqual(names);
    expect(pages).toBe(3);
  });

  it("answers next_after null when the page holds the last client", async () => {
    for (const username of names.slice(0, 3)) await provision(ctx, { username, password: PASSWORD });
    const res = await request(ctx.app).get("/api/v1/clients").set(bearer).query({ limit: 3 });
    expect(res.body.data).toHaveLength(3);
    expect(res.body.next_after).toBeNull();
  });

  it("filters by state", async () => {
    await provision(ctx, { username: "on", password: PASSWORD });
    await provision(ctx, { username: "off", password: PASSWORD, enabled: false });
    await provision(ctx, { username: "old", password: PASSWORD, expires_at: "2001-01-01T00:00:00Z" });
    await provision(ctx, { username: "later", password: PASSWORD, expires_at: "2099-01-01T00:00:00Z" });
    const usernames = async (state: string) =>
      (await request(ctx.app).get("/api/v1/clients").set(bearer).query({ state })).body.data.map(
        (c: { username: string; state: string }) => [c.username, c.state],
      );
    expect(await usernames("active")).toEqual([
      ["later", "active"],
      ["on", "active"],
    ]);
    expect(await usernames("disabled")).toEqual([["off", "disabled"]]);
    expect(await usernames("expired")).toEqual([["old", "expired"]]);
  });

  it("filters by is_superuser", async () => {
    await provision(ctx, { username: "boss", password: PASSWORD, is_superuser: true });
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const usernames = async (value: string) =>
      (
        await request(ctx.app).get("/api/v1/clients").set(bearer).query({ is_superuser: value })
      ).body.data.map((c: { username: string }) => c.username);
    expect(await usernames("true")).toEqual(["boss"]);
    expect(await usernames("false")).toEqual(["dev1"]);
  });

  it("filters by a username prefix, matching % and _ literally", async () => {
    for (const username of ["a%b", "a%c", "axb", "a_1", "ab1", "b%"]) {
      await provision(ctx, { username, password: PASSWORD });
    }
    const usernames = async (prefix: string) =>
      (await request(ctx.app).get("/api/v1/clients").set(bearer).query({ prefix })).body.data.map(
        (c: { username: string }) => c.username,
      );
    expect(await usernames("a%")).toEqual(["a%b", "a%c"]);
    expect(await usernames("a_")).toEqual(["a_1"]);
    expect(await usernames("a")).toEqual(["a%b", "a%c", "a_1", "ab1", "axb"]);
  });

  it.each([
    ["limit=0", "limit=0"],
    ["limit=abc", "limit=abc"],
    ["an unknown state", "state=gone"],
    ["an unknown parameter", "sort=username"],
  ])("answers 400 for %s", async (_what, query) => {
    expectError(await request(ctx.app).get(`/api/v1/clients?${query}`).set(bearer), 400, "invalid_request");
  });
});

describe("GET /api/v1/clients/:username", () => {
  it("returns the client", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD, description: "d" });
    const res = await request(ctx.app).get("/api/v1/clients/dev1").set(bearer);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ username: "dev1", description: "d", state: "active" });
  });

  it("finds a username with a slash and a space, percent-encoded in the path", async () => {
    await provision(ctx, { username: "site a/dev 1", password: PASSWORD });
    const res = await request(ctx.app)
      .get(`/api/v1/clients/${encodeURIComponent("site a/dev 1")}`)
      .set(bearer);
    expect(res.status).toBe(200);
    expect(res.body.username).toBe("site a/dev 1");
  });

  it("answers 404 for an unknown client", async () => {
    expectError(await request(ctx.app).get("/api/v1/clients/ghost").set(bearer), 404, "not_found");
  });
});

describe("PATCH /api/v1/clients/:username", () => {
  beforeEach(async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
  });

  const patch = (body: object) => request(ctx.app).patch("/api/v1/clients/dev1").set(bearer).send(body);

  it.each([
    [{ enabled: false }, { enabled: false, state: "disabled" }],
    [{ is_superuser: true }, { is_superuser: true }],
    [{ client_id: "sensor-9" }, { client_id: "sensor-9" }],
    [{ expires_at: "2099-05-01T00:00:00Z" }, { expires_at: "2099-05-01T00:00:00.000Z", state: "active" }],
    [{ expires_at: "2001-05-01T00:00:00Z" }, { state: "expired" }],
    [{ description: "rooftop" }, { description: "rooftop" }],
  ])("changes %j", async (body, expected) => {
    const res = await patch(body);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject(expected);
    expect((await request(ctx.app).get("/api/v1/clients/dev1").set(bearer)).body).toMatchObject(expected);
  });

  it("clears client_id and expires_at with null", async () => {
    await patch({ client_id: "sensor-9", expires_at: "2099-05-01T00:00:00Z" }).expect(200);
    const res = await patch({ client_id: null, expires_at: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ client_id: null, expires_at: null });
  });

  it("leaves the fields it was not given unchanged", async () => {
    await patch({ description: "rooftop", is_superuser: true }).expect(200);
    const res = await patch({ enabled: false });
    expect(res.body).toMatchObject({ description: "rooftop", is_superuser: true, enabled: false });
  });

  it("answers 400 for an empty patch", async () => {
    expectError(await patch({}), 400, "invalid_request");
  });

  it.each([
    ["an unknown field", { username: "dev2" }],
    ["a password (rotation has its own route)", { password: "new password here" }],
    ["a bad expires_at", { expires_at: "someday" }],
    ["a non-boolean enabled", { enabled: "no" }],
  ])("answers 400 for %s", async (_what, body) => {
    expectError(await patch(body), 400, "invalid_request");
    expect((await authDecision(ctx, { username: "dev1", password: PASSWORD })).result).toBe("allow");
  });

  it("answers 404 for an unknown client", async () => {
    const res = await request(ctx.app).patch("/api/v1/clients/ghost").set(bearer).send({ enabled: false });
    expectError(res, 404, "not_found");
  });
});

describe("POST /api/v1/clients/:username/password", () => {
  beforeEach(async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
  });

  it("sets a supplied password without echoing it", async () => {
    const res = await request(ctx.app)
      .post("/api/v1/clients/dev1/password")
      .set(bearer)
      .send({ password: "a brand new secret" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ username: "dev1", password_changed_at: expect.any(String) });
    expect(res.text).not.toContain("a brand new secret");
    expect((await authDecision(ctx, { username: "dev1", password: PASSWORD })).result).toBe("deny");
    expect((await authDecision(ctx, { username: "dev1", password: "a brand new secret" })).result).toBe(
      "allow",
    );
  });

  it("generates a password when none is supplied, with or without a JSON body", async () => {
    for (const req of [
      request(ctx.app).post("/api/v1/clients/dev1/password").set(bearer).send({}),
      request(ctx.app).post("/api/v1/clients/dev1/password").set(bearer),
    ]) {
      const res = await req;
      expect(res.status, res.text).toBe(200);
      expect(res.body.password).toMatch(GENERATED);
      expect((await authDecision(ctx, { username: "dev1", password: res.body.password })).result).toBe(
        "allow",
      );
    }
    expect((await authDecision(ctx, { username: "dev1", password: PASSWORD })).result).toBe("deny");
    const client = (await request(ctx.app).get("/api/v1/clients/dev1").set(bearer)).body;
    expect(client.password_origin).toBe("generated");
  });

  it("answers 400 for a short password and keeps the old one", async () => {
    const res = await request(ctx.app)
      .post("/api/v1/clients/dev1/password")
      .set(bearer)
      .send({ password: "short" });
    expectError(res, 400, "invalid_request");
    expect((await authDecision(ctx, { username: "dev1", password: PASSWORD })).result).toBe("allow");
  });

  it("answers 404 for an unknown client", async () => {
    const res = await request(ctx.app)
      .post("/api/v1/clients/ghost/password")
      .set(bearer)
      .send({ password: "a brand new secret" });
    expectError(res, 404, "not_found");
  });
});

describe("DELETE /api/v1/clients/:username", () => {
  it("answers 204, then 404", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const res = await request(ctx.app).delete("/api/v1/clients/dev1").set(bearer);
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expectError(await request(ctx.app).get("/api/v1/clients/dev1").set(bearer), 404, "not_found");
    expectError(await request(ctx.app).delete("/api/v1/clients/dev1").set(bearer), 404, "not_found");
  });
});

describe("provisioning API: secrets", () => {
  it("never returns a password hash from any route, including errors", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const bodies: string[] = [];
    const record = async (req: request.Test) => bodies.push((await req).text);
    await record(request(ctx.app).post("/api/v1/clients").set(bearer).send({ username: "gen" }));
    await record(
      request(ctx.app).post("/api/v1/clients").set(bearer).send({ username: "dev1", password: PASSWORD }),
    );
    await record(request(ctx.app).get("/api/v1/clients").set(bearer));
    await record(request(ctx.app).get("/api/v1/clients/dev1").set(bearer));
    await record(request(ctx.app).patch("/api/v1/clients/dev1").set(bearer).send({ description: "x" }));
    await record(request(ctx.app).patch("/api/v1/clients/dev1").set(bearer).send({ password_hash: "x" }));
    await record(
      request(ctx.app).post("/api/v1/clients/dev1/password").set(bearer).send({ password: "new secret!" }),
    );
    await record(request(ctx.app).post("/api/v1/clients/dev1/password").set(bearer).send({}));
    await record(request(ctx.app).delete("/api/v1/clients/gen").set(bearer));
    const hash = (await ctx.services.store.findClient("dev1"))!.passwordHash;
    expect(hash).toMatch(/^\$argon2/);
    expect(bodies).toHaveLength(9);
    for (const body of bodies) {
      expect(body).not.toContain("$argon2");
      expect(body).not.toContain(hash.split("$").pop());
    }
  });

  it("writes an audit row for every change, by token name, never containing a password", async () => {
    const created = await provision(ctx, { username: "gen" });
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await request(ctx.app).patch("/api/v1/clients/dev1").set(bearer).send({ enabled: false }).expect(200);
    await request(ctx.app)
      .post("/api/v1/clients/dev1/password")
      .set(bearer)
      .send({ password: "a brand new secret" })
      .expect(200);
    const rotated = await request(ctx.app)
      .post("/api/v1/clients/gen/password")
      .set(bearer)
      .send({})
      .expect(200);
    await request(ctx.app).delete("/api/v1/clients/dev1").set(bearer).expect(204);

    const rows = (await ctx.db.auditRows()).filter((r) => r.action.startsWith("client."));
    expect(rows.map((r) => [r.action, r.target, r.actor])).toEqual([
      ["client.create", "gen", "token:configured"],
      ["client.create", "dev1", "token:configured"],
      ["client.update", "dev1", "token:configured"],
      ["client.password.rotate", "dev1", "token:configured"],
      ["client.password.rotate", "gen", "token:configured"],
      ["client.delete", "dev1", "token:configured"],
    ]);
    for (const r of rows) expect(Number.isNaN(Date.parse(r.at))).toBe(false);

    const everything = await ctx.db.dumpAllTables();
    for (const secret of [
      created.password!,
      PASSWORD,
      "a brand new secret",
      rotated.body.password as string,
    ]) {
      expect(everything).not.toContain(secret);
    }
  });

  it("names the acting token in the audit log", async () => {
    const token = await ctx.services.tokens.create("provisioner", "admin", "test");
    await request(ctx.app)
      .post("/api/v1/clients")
      .set({ authorization: `Bearer ${token}` })
      .send({ username: "dev1", password: PASSWORD })
      .expect(201);
    const row = (await ctx.db.auditRows()).find((r) => r.action === "client.create");
    expect(row?.actor).toBe("token:provisioner");
  });

  it("writes no audit row for a refused change", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const before = (await ctx.db.auditRows()).length;
    await request(ctx.app).post("/api/v1/clients").set(bearer).send({ username: "dev1" }).expect(409);
    await request(ctx.app).patch("/api/v1/clients/ghost").set(bearer).send({ enabled: false }).expect(404);
    await request(ctx.app).delete("/api/v1/clients/ghost").set(bearer).expect(404);
    await request(ctx.app)
      .post("/api/v1/clients/dev1/password")
      .set(bearer)
      .send({ password: "x" })
      .expect(400);
    expect(await ctx.db.auditRows()).toHaveLength(before);
  });
});

describe("provisioning API: unknown routes", () => {
  it("answers 404 in the error shape for an unknown route with a valid token", async () => {
    expectError(await request(ctx.app).get("/api/v1/nothing-here").set(bearer), 404, "not_found");
  });
});
