// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${username}" and "${clientid}" are the placeholder syntax under test.
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { evaluate } from "../../src/acl/evaluate.js";
import { validateTopicFilter } from "../../src/acl/topic.js";
import type { AclRequest, Rule } from "../../src/acl/types.js";
import { authDecision, HOOK_ENCODINGS, type HookEncoding, provision } from "../helpers/api.js";
import { bearer, createTestContext, hookHeaders, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const PASSWORD = "correct horse battery";

const SENSOR_RULES = [
  { permission: "allow", action: "publish", topic: "sensors/${clientid}/#" },
  { permission: "allow", action: "subscribe", topic: "cmd/${clientid}" },
];

interface AclFields {
  username: string;
  clientid: string;
  topic: string;
  action: "publish" | "subscribe";
  qos?: string;
  retain?: string;
}

/** Calls /mqtt/acl as EMQX does: every value a string, as JSON, a form or GET query parameters. */
async function aclDecision(
  c: TestContext,
  fields: AclFields,
  encoding: HookEncoding = "json",
): Promise<string> {
  const full = { peerhost: "10.0.0.1", qos: "0", retain: "false", ...fields };
  const res =
    encoding === "json"
      ? await request(c.app)
          .post("/mqtt/acl")
          .set(hookHeaders)
          .set("content-type", "application/json")
          .send(JSON.stringify(full))
      : encoding === "form"
        ? await request(c.app).post("/mqtt/acl").set(hookHeaders).type("form").send(full)
        : await request(c.app).get("/mqtt/acl").set(hookHeaders).query(full);
  expect(res.status, res.text).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^application\/json(;|$)/);
  expect(Object.keys(res.body)).toEqual(["result"]);
  return res.body.result as string;
}

const publish = (username: string, clientid: string, topic: string, extra: Partial<AclFields> = {}) =>
  aclDecision(ctx, { username, clientid, topic, action: "publish", ...extra });
const subscribe = (username: string, clientid: string, topic: string, extra: Partial<AclFields> = {}) =>
  aclDecision(ctx, { username, clientid, topic, action: "subscribe", ...extra });

async function createRole(c: TestContext, name: string, rules: unknown[], isDefault = false): Promise<void> {
  const res = await request(c.app)
    .post("/api/v1/roles")
    .set(bearer)
    .send({ name, rules, default: isDefault });
  expect(res.status, res.text).toBe(201);
}

async function setAcl(c: TestContext, username: string, acl: { roles?: string[]; rules?: unknown[] }) {
  const res = await request(c.app)
    .put(`/api/v1/clients/${encodeURIComponent(username)}/acl`)
    .set(bearer)
    .send(acl);
  expect(res.status, res.text).toBe(200);
}

/** A client with a password and the given ACL, ready to log in. */
async function client(
  c: TestContext,
  username: string,
  acl: { roles?: string[]; rules?: unknown[] } = {},
  extra: Record<string, unknown> = {},
): Promise<void> {
  await provision(c, { username, password: PASSWORD, ...extra });
  if (acl.roles !== undefined || acl.rules !== undefined) await setAcl(c, username, acl);
}

/** The `acl` list /mqtt/auth hands EMQX at login. */
async function loginAcl(c: TestContext, username: string, clientid: string): Promise<Rule[]> {
  const body = await authDecision(c, { username, password: PASSWORD, clientid });
  expect(body.result).toBe("allow");
  expect(Array.isArray(body.acl), JSON.stringify(body)).toBe(true);
  return body.acl as Rule[];
}

/**
 * EMQX's topic test for rules (v5.8 emqx_authz_rule:match_topic, emqx_topic:match on word lists): "+" is
 * any one word, a requested "#" included; a last "#" matches the rest, parent level included. Unlike
 * MQTT subscription matching, it has no exception for "$" topics.
 */
function emqxTopicMatches(topic: string[], filter: string[]): boolean {
  const [f, ...restFilter] = filter;
  if (f === "#" && restFilter.length === 0) return true;
  const [t, ...restTopic] = topic;
  if (t === undefined || f === undefined) return t === undefined && f === undefined;
  return (t === f || f === "+") && emqxTopicMatches(restTopic, restFilter);
}

type LocalRequest = Omit<AclRequest, "qos" | "retain"> & Partial<AclRequest>;

/**
 * What EMQX concludes from the login list alone: its first matching rule, else "nomatch", after which it
 * asks its authorization sources (our /mqtt/acl). Our own evaluator must agree on the same list.
 */
function decideLocally(acl: Rule[], partial: LocalRequest): string {
  const req: AclRequest = { qos: 0, retain: false, ...partial };
  let emqx = "nomatch";
  for (const rule of acl) {
    if (rule.action !== "all" && rule.action !== req.action) continue;
    if (rule.qos !== undefined && !rule.qos.includes(req.qos)) continue;
    if (req.action === "publish" && rule.retain !== undefined && rule.retain !== req.retain) continue;
    const hit = rule.topic.startsWith("eq ")
      ? rule.topic.slice(3) === req.topic
      : emqxTopicMatches(req.topic.split("/"), rule.topic.split("/"));
    if (hit) {
      emqx = rule.permission;
      break;
    }
  }
  const ours = evaluate(acl, req, "deny");
  expect(ours.rule === null ? "nomatch" : ours.result, "our evaluator on the login list").toBe(emqx);
  return emqx;
}

/** What EMQX ≥ 5.8 accepts in an `acl` entry; anything else makes it reject the whole login. */
function expectValidForEmqx(entry: Record<string, unknown>): void {
  const where = JSON.stringify(entry);
  expect(
    Object.keys(entry).every((k) => ["permission", "action", "topic", "qos", "retain"].includes(k)),
    where,
  ).toBe(true);
  expect(["allow", "deny"], where).toContain(entry.permission);
  expect(["publish", "subscribe", "all"], where).toContain(entry.action);
  expect(typeof entry.topic, where).toBe("string");
  const topic = entry.topic as string;
  const filter = topic.startsWith("eq ") ? topic.slice(3) : topic;
  expect(filter.length, where).toBeGreaterThan(0);
  expect(validateTopicFilter(filter).ok, where).toBe(true);
  // Already expanded: nothing left for EMQX to render.
  expect(topic, where).not.toContain("${");
  if ("qos" in entry) {
    const qos = entry.qos as unknown[];
    expect(Array.isArray(qos) && qos.length > 0, where).toBe(true);
    for (const level of qos) expect([0, 1, 2], where).toContain(level);
    expect(new Set(qos).size, where).toBe(qos.length);
  }
  if ("retain" in entry) {
    expect(typeof entry.retain, where).toBe("boolean");
    expect(entry.action, where).not.toBe("subscribe");
  }
}

describe("/mqtt/acl: the encodings EMQX sends", () => {
  it.each(HOOK_ENCODINGS)("decides with string qos and retain values (%s)", async (encoding) => {
    await createRole(ctx, "sensor", SENSOR_RULES);
    await client(ctx, "dev1", { roles: ["sensor"] });
    const ask = (topic: string) =>
      aclDecision(
        ctx,
        { username: "dev1", clientid: "s1", topic, action: "publish", qos: "1", retain: "false" },
        encoding,
      );
    expect(await ask("sensors/s1/temp")).toBe("allow");
    expect(await ask("sensors/s2/temp")).toBe("deny");
  });

  it("answers 401 without the hook secret, as /mqtt/auth does", async () => {
    const res = await request(ctx.app)
      .post("/mqtt/acl")
      .send({ username: "dev1", clientid: "s1", topic: "a", action: "publish" });
    expect(res.status).toBe(401);
  });
});

describe("done when: role sensor reaches its own topics and no other client's", () => {
  beforeEach(async () => {
    await createRole(ctx, "sensor", SENSOR_RULES);
    await client(ctx, "dev1", { roles: ["sensor"] });
  });

  it("through /mqtt/acl", async () => {
    expect(await publish("dev1", "sensor-1", "sensors/sensor-1/temp")).toBe("allow");
    expect(await publish("dev1", "sensor-1", "sensors/sensor-2/temp")).toBe("deny");
    expect(await subscribe("dev1", "sensor-1", "cmd/sensor-1")).toBe("allow");
    expect(await subscribe("dev1", "sensor-1", "cmd/sensor-2")).toBe("deny");
    expect(await subscribe("dev1", "sensor-1", "sensors/sensor-1/#")).toBe("deny");
  });

  it("through the acl list /mqtt/auth returns, placeholders expanded", async () => {
    const acl = await loginAcl(ctx, "dev1", "sensor-1");
    expect(acl).toEqual([
      { permission: "allow", action: "publish", topic: "sensors/sensor-1/#" },
      { permission: "allow", action: "subscribe", topic: "cmd/sensor-1" },
      { permission: "deny", action: "all", topic: "#" },
    ]);
    const ids = { username: "dev1", clientid: "sensor-1" };
    expect(decideLocally(acl, { ...ids, action: "publish", topic: "sensors/sensor-1/temp" })).toBe("allow");
    expect(decideLocally(acl, { ...ids, action: "publish", topic: "sensors/sensor-2/temp" })).toBe("deny");
    expect(decideLocally(acl, { ...ids, action: "subscribe", topic: "cmd/sensor-1" })).toBe("allow");
    expect(decideLocally(acl, { ...ids, action: "subscribe", topic: "cmd/sensor-2" })).toBe("deny");
  });
});

describe("/mqtt/acl and the login acl list: evaluation order", () => {
  it("evaluates the client's own rules before its roles", async () => {
    await createRole(ctx, "sensor", SENSOR_RULES);
    await client(ctx, "dev1", {
      roles: ["sensor"],
      rules: [{ permission: "deny", action: "publish", topic: "sensors/${clientid}/secret" }],
    });
    expect(await publish("dev1", "s1", "sensors/s1/secret")).toBe("deny");
    expect(await publish("dev1", "s1", "sensors/s1/temp")).toBe("allow");
    const acl = await loginAcl(ctx, "dev1", "s1");
    const ids = { username: "dev1", clientid: "s1", action: "publish" as const };
    expect(decideLocally(acl, { ...ids, topic: "sensors/s1/secret" })).toBe("deny");
    expect(decideLocally(acl, { ...ids, topic: "sensors/s1/temp" })).toBe("allow");
  });

  it("evaluates roles in the order they are assigned", async () => {
    await createRole(ctx, "blocker", [{ permission: "deny", action: "publish", topic: "shared/#" }]);
    await createRole(ctx, "writer", [{ permission: "allow", action: "publish", topic: "shared/#" }]);
    await client(ctx, "dev1", { roles: ["blocker", "writer"] });
    expect(await publish("dev1", "c1", "shared/x")).toBe("deny");
    expect(
      decideLocally(await loginAcl(ctx, "dev1", "c1"), {
        username: "dev1",
        clientid: "c1",
        action: "publish",
        topic: "shared/x",
      }),
    ).toBe("deny");

    await setAcl(ctx, "dev1", { roles: ["writer", "blocker"] });
    expect(await publish("dev1", "c1", "shared/x")).toBe("allow");
    expect(
      decideLocally(await loginAcl(ctx, "dev1", "c1"), {
        username: "dev1",
        clientid: "c1",
        action: "publish",
        topic: "shared/x",
      }),
    ).toBe("allow");
  });

  it("applies default roles to every client, after the roles assigned to it", async () => {
    await createRole(
      ctx,
      "everyone",
      [
        { permission: "allow", action: "subscribe", topic: "broadcast/#" },
        { permission: "deny", action: "publish", topic: "broadcast/#" },
      ],
      true,
    );
    await createRole(ctx, "announcer", [{ permission: "allow", action: "publish", topic: "broadcast/#" }]);
    await client(ctx, "plain");
    await client(ctx, "speaker", { roles: ["announcer"] });

    expect(await subscribe("plain", "c1", "broadcast/news")).toBe("allow");
    expect(await publish("plain", "c1", "broadcast/news")).toBe("deny");
    expect(await subscribe("speaker", "c2", "broadcast/news")).toBe("allow");
    expect(await publish("speaker", "c2", "broadcast/news")).toBe("allow");

    const acl = await loginAcl(ctx, "plain", "c1");
    expect(
      decideLocally(acl, { username: "plain", clientid: "c1", action: "subscribe", topic: "broadcast/news" }),
    ).toBe("allow");
  });
});

describe("/mqtt/acl: who is decided without rules", () => {
  it("allows a superuser everything, and /mqtt/auth gives it no acl list", async () => {
    await client(ctx, "root", {}, { is_superuser: true });
    expect(await publish("root", "c1", "anything/at/all")).toBe("allow");
    expect(await subscribe("root", "c1", "#")).toBe("allow");
    expect(await publish("root", "c1", "$SYS/x")).toBe("allow");
    const body = await authDecision(ctx, { username: "root", password: PASSWORD, clientid: "c1" });
    expect(body).toMatchObject({ result: "allow", is_superuser: true });
    expect(body).not.toHaveProperty("acl");
  });

  it("denies an unknown user", async () => {
    await createRole(ctx, "everyone", [{ permission: "allow", action: "all", topic: "#" }], true);
    expect(await publish("ghost", "c1", "a/b")).toBe("deny");
  });

  it("answers ignore for an unknown user with MQTT_AUTHD_UNKNOWN_USER=ignore, still deciding for known ones", async () => {
    const chained = await createTestContext({ MQTT_AUTHD_UNKNOWN_USER: "ignore" });
    try {
      await client(chained, "dev1");
      const ask = (username: string) =>
        aclDecision(chained, { username, clientid: "c1", topic: "a/b", action: "publish" });
      expect(await ask("ghost")).toBe("ignore");
      expect(await ask("dev1")).toBe("deny");
    } finally {
      await chained.close();
    }
  });

  it("denies a disabled client even where its rules allow", async () => {
    await client(ctx, "dev1", { rules: [{ permission: "allow", action: "all", topic: "#" }] });
    expect(await publish("dev1", "c1", "a/b")).toBe("allow");
    await request(ctx.app).patch("/api/v1/clients/dev1").set(bearer).send({ enabled: false }).expect(200);
    expect(await publish("dev1", "c1", "a/b")).toBe("deny");
    expect(await subscribe("dev1", "c1", "a/b")).toBe("deny");
  });

  it("denies an expired client even where its rules allow", async () => {
    await client(ctx, "dev1", { rules: [{ permission: "allow", action: "all", topic: "#" }] });
    await request(ctx.app)
      .patch("/api/v1/clients/dev1")
      .set(bearer)
      .send({ expires_at: "2001-01-01T00:00:00Z" })
      .expect(200);
    expect(await publish("dev1", "c1", "a/b")).toBe("deny");
  });

  it("denies a client id other than the bound one, even a superuser's", async () => {
    await client(
      ctx,
      "dev1",
      { rules: [{ permission: "allow", action: "all", topic: "#" }] },
      { client_id: "s-42" },
    );
    await client(ctx, "root", {}, { client_id: "r-1", is_superuser: true });
    expect(await publish("dev1", "s-42", "a/b")).toBe("allow");
    expect(await publish("dev1", "s-43", "a/b")).toBe("deny");
    expect(await publish("root", "r-2", "a/b")).toBe("deny");
  });
});

describe("/mqtt/acl: QoS and retain conditions", () => {
  beforeEach(async () => {
    await client(ctx, "dev1", {
      rules: [
        { permission: "allow", action: "publish", topic: "data/#", qos: [0, 1], retain: false },
        { permission: "allow", action: "subscribe", topic: "feed/#", qos: [0], retain: false },
      ],
    });
  });

  it("allows a publish only at a listed QoS", async () => {
    expect(await publish("dev1", "c1", "data/x", { qos: "0" })).toBe("allow");
    expect(await publish("dev1", "c1", "data/x", { qos: "1" })).toBe("allow");
    expect(await publish("dev1", "c1", "data/x", { qos: "2" })).toBe("deny");
  });

  it("allows a publish only with the rule's retain flag", async () => {
    expect(await publish("dev1", "c1", "data/x", { retain: "false" })).toBe("allow");
    expect(await publish("dev1", "c1", "data/x", { retain: "true" })).toBe("deny");
  });

  it("applies the QoS condition to subscriptions but not the retain one", async () => {
    expect(await subscribe("dev1", "c1", "feed/a", { qos: "0", retain: "true" })).toBe("allow");
    expect(await subscribe("dev1", "c1", "feed/a", { qos: "1" })).toBe("deny");
  });

  it("hands EMQX the same conditions at login, and they decide the same way", async () => {
    const acl = await loginAcl(ctx, "dev1", "c1");
    expect(acl[0]).toEqual({
      permission: "allow",
      action: "publish",
      topic: "data/#",
      qos: [0, 1],
      retain: false,
    });
    expect(acl[1]).toEqual({ permission: "allow", action: "subscribe", topic: "feed/#", qos: [0] });
    const ids = { username: "dev1", clientid: "c1" };
    expect(decideLocally(acl, { ...ids, action: "publish", topic: "data/x", qos: 2 })).toBe("deny");
    expect(decideLocally(acl, { ...ids, action: "publish", topic: "data/x", retain: true })).toBe("deny");
    expect(decideLocally(acl, { ...ids, action: "publish", topic: "data/x", qos: 1 })).toBe("allow");
  });
});

describe("/mqtt/acl: topic matching", () => {
  it("allows subscribing to a filter the rule covers, and not to a wider one", async () => {
    await client(ctx, "dev1", {
      rules: [
        { permission: "allow", action: "subscribe", topic: "a/#" },
        { permission: "allow", action: "subscribe", topic: "b/+" },
      ],
    });
    expect(await subscribe("dev1", "c1", "a/+/b")).toBe("allow");
    expect(await subscribe("dev1", "c1", "a/#")).toBe("allow");
    expect(await subscribe("dev1", "c1", "b/x")).toBe("allow");
    expect(await subscribe("dev1", "c1", "b/+")).toBe("allow");
    expect(await subscribe("dev1", "c1", "b/#")).toBe("deny");
    expect(await subscribe("dev1", "c1", "b/+/c")).toBe("deny");
    expect(await subscribe("dev1", "c1", "+/x")).toBe("deny");
  });

  it("does not let '#' reach $SYS topics", async () => {
    await client(ctx, "dev1", { rules: [{ permission: "allow", action: "all", topic: "#" }] });
    expect(await publish("dev1", "c1", "anything")).toBe("allow");
    expect(await publish("dev1", "c1", "$SYS/x")).toBe("deny");
    expect(await subscribe("dev1", "c1", "$SYS/#")).toBe("deny");
    expect(await subscribe("dev1", "c1", "$SYS/broker/uptime")).toBe("deny");
  });

  // EMQX matches login rules more widely than MQTT subscription matching (see emqxTopicMatches): the
  // login list stops before such a rule, so these checks reach /mqtt/acl, which denies them.
  it.each([
    [{ permission: "allow", action: "subscribe", topic: "a/+" }, "subscribe", "a/#"],
    [{ permission: "allow", action: "subscribe", topic: "a/+/#" }, "subscribe", "a/#"],
    [{ permission: "allow", action: "subscribe", topic: "+" }, "subscribe", "#"],
    [{ permission: "allow", action: "all", topic: "#" }, "subscribe", "$SYS/#"],
    [{ permission: "allow", action: "publish", topic: "+/cmd" }, "publish", "$SYS/cmd"],
  ] as const)("hands EMQX no login rule that would widen %o for %s %s", async (rule, action, topic) => {
    await client(ctx, "dev1", { rules: [{ permission: "allow", action: "publish", topic: "safe/x" }, rule] });
    const acl = await loginAcl(ctx, "dev1", "c1");
    expect(acl).toEqual([{ permission: "allow", action: "publish", topic: "safe/x" }]);
    expect(decideLocally(acl, { username: "dev1", clientid: "c1", action, topic })).toBe("nomatch");
    const check = action === "publish" ? publish : subscribe;
    expect(await check("dev1", "c1", topic)).toBe("deny");
  });

  it("lets a rule name a $SYS topic explicitly", async () => {
    await client(ctx, "dev1", {
      rules: [{ permission: "allow", action: "subscribe", topic: "$SYS/broker/#" }],
    });
    expect(await subscribe("dev1", "c1", "$SYS/broker/uptime")).toBe("allow");
    expect(await subscribe("dev1", "c1", "$SYS/other")).toBe("deny");
  });

  it("denies an invalid topic even where a rule allows everything", async () => {
    await client(ctx, "dev1", { rules: [{ permission: "allow", action: "all", topic: "#" }] });
    expect(await publish("dev1", "c1", "a/+")).toBe("deny");
    expect(await publish("dev1", "c1", "a/#")).toBe("deny");
    expect(await subscribe("dev1", "c1", "a/#/b")).toBe("deny");
    expect(await subscribe("dev1", "c1", "a+/b")).toBe("deny");
  });

  it("matches an 'eq ' rule only by exact string, wildcards included", async () => {
    await client(ctx, "dev1", { rules: [{ permission: "allow", action: "subscribe", topic: "eq a/+" }] });
    expect(await subscribe("dev1", "c1", "a/+")).toBe("allow");
    expect(await subscribe("dev1", "c1", "a/x")).toBe("deny");
  });
});

describe("placeholders never widen a rule", () => {
  const OWN_SPACE = [
    { permission: "allow", action: "all", topic: "users/${username}/#" },
    { permission: "allow", action: "all", topic: "devices/${clientid}/#" },
  ];

  it.each(["+", "#", "a/b", "x+y", "a#", "${clientid}"])(
    "gives username %j nothing through ${username}",
    async (username) => {
      await createRole(ctx, "own-space", OWN_SPACE, true);
      await client(ctx, username);
      for (const topic of [
        "users/victim/data",
        "users/a/b/data",
        "users/x+y/data",
        "users/${clientid}/data",
      ]) {
        expect(await publish(username, "c1", topic), topic).toBe("deny");
      }
      expect(await subscribe(username, "c1", "users/victim/#")).toBe("deny");
      expect(await subscribe(username, "c1", "users/+/#")).toBe("deny");
      // The rule for the client id still applies: only the unsafe value's rule is dropped.
      expect(await publish(username, "c1", "devices/c1/x")).toBe("allow");

      const acl = await loginAcl(ctx, username, "c1");
      expect(acl.map((r) => r.topic)).toEqual(["devices/c1/#", "#"]);
    },
  );

  it.each(["+", "#", "s/1", "${username}"])(
    "gives client id %j nothing through ${clientid}",
    async (clientid) => {
      await createRole(ctx, "sensor", SENSOR_RULES);
      await client(ctx, "dev1", { roles: ["sensor"] });
      expect(await publish("dev1", clientid, "sensors/other/temp")).toBe("deny");
      expect(await publish("dev1", clientid, "sensors/s/1/temp")).toBe("deny");
      expect(await subscribe("dev1", clientid, "cmd/+")).toBe("deny");
      const acl = await loginAcl(ctx, "dev1", clientid);
      expect(acl).toEqual([{ permission: "deny", action: "all", topic: "#" }]);
    },
  );

  it("keeps a client id starting with '$' out of broker-reserved topics through a leading ${clientid}", async () => {
    await client(ctx, "dev1", { rules: [{ permission: "allow", action: "all", topic: "${clientid}/#" }] });
    expect(await publish("dev1", "c1", "c1/x")).toBe("allow");
    expect(await publish("dev1", "$SYS", "$SYS/x")).toBe("deny");
    expect(await publish("dev1", "$delayed", "$delayed/10/victim/topic")).toBe("deny");
    expect(await loginAcl(ctx, "dev1", "$SYS")).toEqual([{ permission: "deny", action: "all", topic: "#" }]);
  });
});

describe("MQTT_AUTHD_ACL_NO_MATCH and MQTT_AUTHD_EMQX_ACL_IN_AUTH", () => {
  it("denies when no rule matches by default, and the login list ends with a deny-all", async () => {
    await client(ctx, "dev1", { rules: [{ permission: "allow", action: "publish", topic: "a" }] });
    expect(await publish("dev1", "c1", "b")).toBe("deny");
    expect(await loginAcl(ctx, "dev1", "c1")).toEqual([
      { permission: "allow", action: "publish", topic: "a" },
      { permission: "deny", action: "all", topic: "#" },
    ]);
  });

  it("allows when no rule matches with MQTT_AUTHD_ACL_NO_MATCH=allow, and drops the trailing deny-all", async () => {
    const open = await createTestContext({ MQTT_AUTHD_ACL_NO_MATCH: "allow" });
    try {
      await client(open, "dev1", { rules: [{ permission: "deny", action: "publish", topic: "a" }] });
      const ask = (topic: string) =>
        aclDecision(open, { username: "dev1", clientid: "c1", topic, action: "publish" });
      expect(await ask("b")).toBe("allow");
      expect(await ask("a")).toBe("deny");
      expect(await loginAcl(open, "dev1", "c1")).toEqual([
        { permission: "deny", action: "publish", topic: "a" },
      ]);
      // An unknown user is still denied: the default is about rules, not about who may connect.
      expect(
        await aclDecision(open, { username: "ghost", clientid: "c1", topic: "b", action: "publish" }),
      ).toBe("deny");
    } finally {
      await open.close();
    }
  });

  it("omits acl from /mqtt/auth with MQTT_AUTHD_EMQX_ACL_IN_AUTH=false, while /mqtt/acl still decides", async () => {
    const lean = await createTestContext({ MQTT_AUTHD_EMQX_ACL_IN_AUTH: "false" });
    try {
      await client(lean, "dev1", { rules: [{ permission: "allow", action: "publish", topic: "a" }] });
      const body = await authDecision(lean, { username: "dev1", password: PASSWORD, clientid: "c1" });
      expect(body).toMatchObject({ result: "allow", is_superuser: false });
      expect(body).not.toHaveProperty("acl");
      expect(
        await aclDecision(lean, { username: "dev1", clientid: "c1", topic: "a", action: "publish" }),
      ).toBe("allow");
    } finally {
      await lean.close();
    }
  });
});

describe("/mqtt/auth: every acl entry is one EMQX accepts", () => {
  it("renders every rule shape the API accepts as a valid EMQX entry", async () => {
    await createRole(
      ctx,
      "kitchen-sink",
      [
        { permission: "allow", action: "publish", topic: "p/${clientid}/#", qos: [2, 0], retain: true },
        { permission: "allow", action: "all", topic: "eq lit/+/#", retain: false },
        { permission: "allow", action: "all", topic: "${username}/${clientid}" },
        { permission: "allow", action: "subscribe", topic: "$SYS/brokers/+/clients/${clientid}/#" },
        { permission: "allow", action: "publish", topic: "/leading/slash" },
        { permission: "allow", action: "publish", topic: "trailing/" },
        // EMQX would read these two more widely than /mqtt/acl: the login list stops before them.
        { permission: "deny", action: "subscribe", topic: "s/${username}/+", qos: [1], retain: false },
        { permission: "deny", action: "publish", topic: "+/x/#", qos: [0, 1, 2] },
      ],
      true,
    );
    await client(ctx, "dev1", {
      rules: [{ permission: "allow", action: "all", topic: "eq users/${username}", qos: [1, 1] }],
    });
    for (const clientid of ["c1", "+", "weird id ü", ""]) {
      const body = await authDecision(ctx, { username: "dev1", password: PASSWORD, clientid });
      const acl = body.acl as Record<string, unknown>[];
      expect(acl.length).toBeGreaterThan(1);
      for (const entry of acl) expectValidForEmqx(entry);
    }
  });
});

describe("answers kept between requests (the login list, the resolved rules)", () => {
  // The login answer and the rule topics are kept per client while its rules are unchanged: every
  // change below must show at the very next request.
  beforeEach(async () => {
    await createRole(ctx, "sensor", SENSOR_RULES);
    await client(ctx, "dev1", { roles: ["sensor"] });
  });

  it("renders the login list again after the client's rules change", async () => {
    const before = await loginAcl(ctx, "dev1", "s1");
    expect(await loginAcl(ctx, "dev1", "s1")).toEqual(before);
    await setAcl(ctx, "dev1", {
      roles: ["sensor"],
      rules: [{ permission: "deny", action: "publish", topic: "sensors/${clientid}/secret" }],
    });
    const after = await loginAcl(ctx, "dev1", "s1");
    expect(after).toEqual([{ permission: "deny", action: "publish", topic: "sensors/s1/secret" }, ...before]);
  });

  it("renders the login list again after a role's rules change", async () => {
    await loginAcl(ctx, "dev1", "s1");
    const res = await request(ctx.app)
      .put("/api/v1/roles/sensor")
      .set(bearer)
      .send({ rules: [{ permission: "allow", action: "publish", topic: "other/${clientid}" }] });
    expect(res.status, res.text).toBe(200);
    expect(await loginAcl(ctx, "dev1", "s1")).toEqual([
      { permission: "allow", action: "publish", topic: "other/s1" },
      { permission: "deny", action: "all", topic: "#" },
    ]);
  });

  it("expands the placeholders for each client id the same user logs in with", async () => {
    expect((await loginAcl(ctx, "dev1", "s1"))[0]).toMatchObject({ topic: "sensors/s1/#" });
    expect((await loginAcl(ctx, "dev1", "s2"))[0]).toMatchObject({ topic: "sensors/s2/#" });
    expect((await loginAcl(ctx, "dev1", "s1"))[0]).toMatchObject({ topic: "sensors/s1/#" });
  });

  it("answers is_superuser and expire_at from the current row", async () => {
    expect(await authDecision(ctx, { username: "dev1", password: PASSWORD, clientid: "s1" })).toMatchObject({
      result: "allow",
      is_superuser: false,
    });
    const expiresAt = "2999-01-01T00:00:00.000Z";
    const res = await request(ctx.app)
      .patch("/api/v1/clients/dev1")
      .set(bearer)
      .send({ expires_at: expiresAt });
    expect(res.status, res.text).toBe(200);
    const body = await authDecision(ctx, { username: "dev1", password: PASSWORD, clientid: "s1" });
    expect(body.expire_at).toBe(Date.parse(expiresAt) / 1000);
  });

  it("decides /mqtt/acl on the client's current rules, for the client id asking", async () => {
    expect(await publish("dev1", "s1", "sensors/s1/temp")).toBe("allow");
    expect(await publish("dev1", "s2", "sensors/s1/temp")).toBe("deny");
    expect(await publish("dev1", "s2", "sensors/s2/temp")).toBe("allow");
    await setAcl(ctx, "dev1", {
      roles: ["sensor"],
      rules: [{ permission: "deny", action: "publish", topic: "sensors/${clientid}/temp" }],
    });
    expect(await publish("dev1", "s2", "sensors/s2/temp")).toBe("deny");
    expect(await publish("dev1", "s2", "sensors/s2/humidity")).toBe("allow");
  });
});
