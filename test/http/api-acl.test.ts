// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${username}" and "${clientid}" are the placeholder syntax under test.
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { provision } from "../helpers/api.js";
import { bearer, createTestContext, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const SENSOR = {
  name: "sensor",
  description: "field sensors",
  rules: [
    { permission: "allow", action: "publish", topic: "sensors/${clientid}/#", qos: [0, 1] },
    { permission: "allow", action: "subscribe", topic: "cmd/${clientid}" },
  ],
};

const api = () => request(ctx.app);

async function createRole(body: Record<string, unknown>): Promise<void> {
  const res = await api().post("/api/v1/roles").set(bearer).send(body);
  expect(res.status, res.text).toBe(201);
}

async function putAcl(username: string, body: Record<string, unknown>): Promise<void> {
  const res = await api().put(`/api/v1/clients/${username}/acl`).set(bearer).send(body);
  expect(res.status, res.text).toBe(200);
}

/** Every audit row so far, as "action target": for proving that a refused change wrote none. */
const auditActions = async () => (await ctx.db.auditRows()).map((r) => `${r.action} ${r.target}`);

describe("/api/v1/roles: CRUD", () => {
  it("POST creates a role: 201 with its location and body, then GET shows it", async () => {
    const res = await api().post("/api/v1/roles").set(bearer).send(SENSOR);
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe("/api/v1/roles/sensor");
    expect(res.body).toMatchObject({ ...SENSOR, default: false, assigned_clients: 0 });

    const got = await api().get("/api/v1/roles/sensor").set(bearer);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
    const list = await api().get("/api/v1/roles").set(bearer);
    expect(list.status).toBe(200);
    expect(list.body.data.map((r: { name: string }) => r.name)).toEqual(["sensor"]);
  });

  it("POST answers 409 for a name that exists, and leaves the role as it was", async () => {
    await createRole(SENSOR);
    const res = await api()
      .post("/api/v1/roles")
      .set(bearer)
      .send({ name: "sensor", rules: [{ permission: "allow", action: "all", topic: "#" }] });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("conflict");
    expect((await api().get("/api/v1/roles/sensor").set(bearer)).body.rules).toEqual(SENSOR.rules);
  });

  it("PUT replaces description, default flag and rules: 200", async () => {
    await createRole(SENSOR);
    const rules = [{ permission: "deny", action: "all", topic: "eq a/+", retain: true }];
    const res = await api()
      .put("/api/v1/roles/sensor")
      .set(bearer)
      .send({ description: "new", default: true, rules });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: "sensor", description: "new", default: true, rules });
    expect((await api().get("/api/v1/roles/sensor").set(bearer)).body.rules).toEqual(rules);
  });

  it("DELETE answers 204, then the role is gone", async () => {
    await createRole(SENSOR);
    expect((await api().delete("/api/v1/roles/sensor").set(bearer)).status).toBe(204);
    expect((await api().get("/api/v1/roles/sensor").set(bearer)).status).toBe(404);
    expect((await api().get("/api/v1/roles").set(bearer)).body.data).toEqual([]);
  });

  it("answers 404 to GET, PUT and DELETE of a role that does not exist", async () => {
    expect((await api().get("/api/v1/roles/ghost").set(bearer)).status).toBe(404);
    expect((await api().put("/api/v1/roles/ghost").set(bearer).send({ rules: [] })).status).toBe(404);
    expect((await api().delete("/api/v1/roles/ghost").set(bearer)).status).toBe(404);
  });

  it("answers 409 to deleting a role assigned to a client, and deletes it once unassigned", async () => {
    await createRole(SENSOR);
    await provision(ctx, { username: "dev1" });
    await putAcl("dev1", { roles: ["sensor"] });
    const res = await api().delete("/api/v1/roles/sensor").set(bearer);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/assigned/);
    expect((await api().get("/api/v1/roles/sensor").set(bearer)).body.assigned_clients).toBe(1);

    await putAcl("dev1", { roles: [] });
    expect((await api().delete("/api/v1/roles/sensor").set(bearer)).status).toBe(204);
  });

  it("answers 400 to a role name that is not one", async () => {
    const res = await api().post("/api/v1/roles").set(bearer).send({ name: "has space", rules: [] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/name/);
  });
});

describe("rule validation: a malformed filter is a 400 that says why", () => {
  const CASES: [string, RegExp][] = [
    ["a/#/b", /'#' must be the last level/],
    ["a#", /'#' must occupy a whole level/],
    ["a+/b", /'\+' must occupy a whole level/],
    ["${foo}", /unknown placeholder '\$\{foo\}'/],
    ["x${clientid}", /must occupy a whole topic level/],
    ["", /must not be empty/],
    ["a\u0000b", /null character/],
  ];

  it.each(CASES)("refuses role rule topic %j", async (topic, reason) => {
    const res = await api()
      .post("/api/v1/roles")
      .set(bearer)
      .send({
        name: "r",
        rules: [
          { permission: "allow", action: "publish", topic: "ok/1" },
          { permission: "allow", action: "publish", topic },
        ],
      });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.message).toMatch(/rules\.1\.topic/);
    expect(res.body.error.message).toMatch(reason);
    expect((await api().get("/api/v1/roles/r").set(bearer)).status).toBe(404);
  });

  it.each(CASES)("refuses client rule topic %j", async (topic, reason) => {
    await provision(ctx, { username: "dev1" });
    const res = await api()
      .put("/api/v1/clients/dev1/acl")
      .set(bearer)
      .send({ rules: [{ permission: "allow", action: "publish", topic }] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(reason);
  });

  it.each([
    ["an unknown permission", { permission: "maybe", action: "publish", topic: "a" }],
    ["an unknown action", { permission: "allow", action: "read", topic: "a" }],
    ["a QoS outside 0..2", { permission: "allow", action: "publish", topic: "a", qos: [3] }],
    ["an empty QoS list", { permission: "allow", action: "publish", topic: "a", qos: [] }],
    [
      "a retain that is not a boolean",
      { permission: "allow", action: "publish", topic: "a", retain: "true" },
    ],
    ["an unknown field", { permission: "allow", action: "publish", topic: "a", topics: ["b"] }],
  ])("refuses %s", async (_what, rule) => {
    const res = await api()
      .post("/api/v1/roles")
      .set(bearer)
      .send({ name: "r", rules: [rule] });
    expect(res.status).toBe(400);
  });
});

describe("/api/v1/clients/:username/acl", () => {
  beforeEach(async () => {
    await createRole(SENSOR);
    await createRole({
      name: "logger",
      rules: [{ permission: "allow", action: "publish", topic: "logs/#" }],
    });
    await createRole({
      name: "everyone",
      default: true,
      rules: [{ permission: "allow", action: "subscribe", topic: "broadcast/#" }],
    });
    await provision(ctx, { username: "dev1" });
  });

  it("GET shows roles, own rules and the effective rules in evaluation order with their sources", async () => {
    const own = [{ permission: "deny", action: "publish", topic: "sensors/${clientid}/secret" }];
    await putAcl("dev1", { roles: ["logger", "sensor"], rules: own });
    const res = await api().get("/api/v1/clients/dev1/acl").set(bearer);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      username: "dev1",
      roles: ["logger", "sensor"],
      rules: own,
      effective: [
        { source: "client", ...own[0] },
        { source: "role:logger", permission: "allow", action: "publish", topic: "logs/#" },
        { source: "role:sensor", ...SENSOR.rules[0] },
        { source: "role:sensor", ...SENSOR.rules[1] },
        { source: "default-role:everyone", permission: "allow", action: "subscribe", topic: "broadcast/#" },
      ],
    });
  });

  it("PUT with only roles keeps the client's rules, and with only rules keeps its roles", async () => {
    const own = [{ permission: "allow", action: "all", topic: "own/#" }];
    await putAcl("dev1", { roles: ["sensor"], rules: own });
    await putAcl("dev1", { roles: ["logger"] });
    expect((await api().get("/api/v1/clients/dev1/acl").set(bearer)).body).toMatchObject({
      roles: ["logger"],
      rules: own,
    });
    await putAcl("dev1", { rules: [] });
    expect((await api().get("/api/v1/clients/dev1/acl").set(bearer)).body).toMatchObject({
      roles: ["logger"],
      rules: [],
    });
  });

  it("PUT with an unknown role is a 400 naming it, and changes nothing", async () => {
    const own = [{ permission: "allow", action: "all", topic: "own/#" }];
    await putAcl("dev1", { roles: ["sensor"], rules: own });
    const before = (await api().get("/api/v1/clients/dev1/acl").set(bearer)).body;
    const auditBefore = await auditActions();

    const res = await api()
      .put("/api/v1/clients/dev1/acl")
      .set(bearer)
      .send({ roles: ["logger", "ghost"], rules: [{ permission: "deny", action: "all", topic: "#" }] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/ghost/);

    expect((await api().get("/api/v1/clients/dev1/acl").set(bearer)).body).toEqual(before);
    expect(await auditActions()).toEqual(auditBefore);
  });

  it("PUT refuses a role assigned twice, and a body with neither roles nor rules", async () => {
    const twice = await api()
      .put("/api/v1/clients/dev1/acl")
      .set(bearer)
      .send({ roles: ["sensor", "sensor"] });
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toMatch(/only once/);
    expect((await api().put("/api/v1/clients/dev1/acl").set(bearer).send({})).status).toBe(400);
  });

  it("answers 404 for the ACL of a client that does not exist", async () => {
    expect((await api().get("/api/v1/clients/ghost/acl").set(bearer)).status).toBe(404);
    expect((await api().put("/api/v1/clients/ghost/acl").set(bearer).send({ roles: [] })).status).toBe(404);
  });

  it("answers a check for a client that does not exist with what the broker would hear", async () => {
    const check = await api()
      .get("/api/v1/clients/ghost/acl/check")
      .query({ clientid: "c1", action: "publish", topic: "a" })
      .set(bearer);
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ result: "deny", reason: "unknown_user" });
  });

  it("drops the client's rules and role assignments when the client is deleted", async () => {
    await putAcl("dev1", { roles: ["sensor"], rules: [{ permission: "allow", action: "all", topic: "#" }] });
    await api().delete("/api/v1/clients/dev1").set(bearer).expect(204);
    const left = {
      rules: (await ctx.db.query("SELECT count(*) AS n FROM acl_rules WHERE client_username = 'dev1'"))[0],
      roles: (await ctx.db.query("SELECT count(*) AS n FROM client_roles WHERE client_username = 'dev1'"))[0],
    };
    expect(left).toEqual({ rules: { n: 0 }, roles: { n: 0 } });
    expect((await api().delete("/api/v1/roles/sensor").set(bearer)).status).toBe(204);
  });
});

describe("GET /api/v1/clients/:username/acl/check", () => {
  beforeEach(async () => {
    await createRole(SENSOR);
    await provision(ctx, { username: "dev1" });
    await putAcl("dev1", {
      roles: ["sensor"],
      rules: [{ permission: "deny", action: "publish", topic: "sensors/${clientid}/secret" }],
    });
  });

  const check = (query: Record<string, string>) =>
    api().get("/api/v1/clients/dev1/acl/check").query(query).set(bearer);

  it("answers allow with the deciding rule, its source and its position", async () => {
    const res = await check({ clientid: "s1", action: "publish", topic: "sensors/s1/temp", qos: "1" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      result: "allow",
      reason: "rule",
      rule: { source: "role:sensor", ...SENSOR.rules[0] },
      ruleIndex: 1,
    });
  });

  it("answers deny with the client's own rule when that rule decides", async () => {
    const res = await check({ clientid: "s1", action: "publish", topic: "sensors/s1/secret" });
    expect(res.body).toMatchObject({
      result: "deny",
      reason: "rule",
      rule: { source: "client" },
      ruleIndex: 0,
    });
  });

  it("answers deny with reason no_match and no rule when nothing matches", async () => {
    const other = await check({ clientid: "s1", action: "publish", topic: "sensors/s2/temp" });
    expect(other.body).toEqual({ result: "deny", reason: "no_match" });
    const qos2 = await check({ clientid: "s1", action: "publish", topic: "sensors/s1/temp", qos: "2" });
    expect(qos2.body).toEqual({ result: "deny", reason: "no_match" });
  });

  it("answers 400 to a question the broker could not ask", async () => {
    expect((await check({ clientid: "s1", action: "read", topic: "a" })).status).toBe(400);
    expect((await check({ clientid: "s1", action: "publish", topic: "a", qos: "3" })).status).toBe(400);
    expect((await check({ clientid: "s1", action: "publish" })).status).toBe(400);
  });
});

describe("scopes and audit", () => {
  it("lets a read token GET roles, ACLs and checks, but not change them (403)", async () => {
    await createRole(SENSOR);
    await provision(ctx, { username: "dev1" });
    const token = await ctx.services.tokens.create("viewer", "read", "test");
    const read = { authorization: `Bearer ${token}` };

    expect((await api().get("/api/v1/roles").set(read)).status).toBe(200);
    expect((await api().get("/api/v1/roles/sensor").set(read)).status).toBe(200);
    expect((await api().get("/api/v1/clients/dev1/acl").set(read)).status).toBe(200);
    const check = await api()
      .get("/api/v1/clients/dev1/acl/check")
      .query({ clientid: "c1", action: "publish", topic: "a" })
      .set(read);
    expect(check.status).toBe(200);

    const auditBefore = await auditActions();
    const writes = [
      api().post("/api/v1/roles").set(read).send({ name: "x" }),
      api().put("/api/v1/roles/sensor").set(read).send({ rules: [] }),
      api().delete("/api/v1/roles/sensor").set(read),
      api()
        .put("/api/v1/clients/dev1/acl")
        .set(read)
        .send({ roles: ["sensor"] }),
    ];
    for (const res of await Promise.all(writes)) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("forbidden");
    }
    expect((await api().get("/api/v1/roles/sensor").set(bearer)).body.rules).toEqual(SENSOR.rules);
    expect(await auditActions()).toEqual(auditBefore);
  });

  it("writes one audit_log row per change, naming the token, and none for a refused change", async () => {
    await provision(ctx, { username: "dev1" });
    const start = (await ctx.db.auditRows()).length;

    await createRole(SENSOR);
    await api().post("/api/v1/roles").set(bearer).send(SENSOR).expect(409);
    await api().put("/api/v1/roles/sensor").set(bearer).send({ description: "v2", rules: [] }).expect(200);
    await putAcl("dev1", { roles: ["sensor"] });
    await api().delete("/api/v1/roles/sensor").set(bearer).expect(409);
    await putAcl("dev1", { roles: [], rules: [{ permission: "allow", action: "all", topic: "own/#" }] });
    await api().delete("/api/v1/roles/sensor").set(bearer).expect(204);
    await api().delete("/api/v1/roles/sensor").set(bearer).expect(404);

    const rows = (await ctx.db.auditRows()).slice(start);
    expect(rows.map((r) => [r.action, r.target])).toEqual([
      ["role.create", "role:sensor"],
      ["role.replace", "role:sensor"],
      ["client.acl.replace", "dev1"],
      ["client.acl.replace", "dev1"],
      ["role.delete", "role:sensor"],
    ]);
    for (const row of rows) expect(row.actor).toBe("token:configured");
    expect(JSON.parse(rows[0]!.details)).toMatchObject({ rules: SENSOR.rules });
    expect(JSON.parse(rows[3]!.details)).toEqual({
      roles: [],
      rules: [{ permission: "allow", action: "all", topic: "own/#" }],
    });
  });
});
