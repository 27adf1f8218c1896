// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${clientid}" is the placeholder syntax under test.
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { provision } from "../helpers/api.js";
import { bearer, createTestContext, HOOK_SECRET, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const PASSWORD = "correct horse battery";
const BASE = `/vernemq/${HOOK_SECRET}`;

type Hook =
  | "auth_on_register"
  | "auth_on_register_m5"
  | "auth_on_publish"
  | "auth_on_publish_m5"
  | "auth_on_subscribe"
  | "auth_on_subscribe_m5";

/**
 * Calls a hook as vmq_webhooks does: always POST, `content-type: application/json` and a
 * `vernemq-hook` header; on the hook's own path, or on one endpoint that reads the header.
 */
function call(hook: Hook, body: object, via: "path" | "header" = "path"): request.Test {
  return request(ctx.app)
    .post(via === "path" ? `${BASE}/${hook}` : BASE)
    .set("content-type", "application/json")
    .set("vernemq-hook", hook)
    .send(JSON.stringify(body));
}

/** The body VerneMQ acts on, after checking what it requires: status 200 and JSON. */
async function reply(hook: Hook, body: object, via: "path" | "header" = "path"): Promise<unknown> {
  const res = await call(hook, body, via);
  expect(res.status, res.text).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  return res.body;
}

const OK = { result: "ok" };
const NOT_ALLOWED = { result: { error: "not_allowed" } };
const NEXT = { result: "next" };

// Bodies as vmq_webhooks_plugin.erl encodes them.
const register = (username: string | null, password: string | null, clientId = "c1") => ({
  peer_addr: "127.0.0.1",
  peer_port: 50123,
  username,
  password,
  mountpoint: "",
  client_id: clientId,
  clean_session: true,
});
const registerM5 = (username: string | null, password: string | null, clientId = "c1") => {
  const { clean_session: _, ...rest } = register(username, password, clientId);
  return { ...rest, clean_start: true, properties: {} };
};
const publish = (username: string, clientId: string, topic: string, qos = 0, retain = false) => ({
  username,
  client_id: clientId,
  mountpoint: "",
  qos,
  topic,
  payload: Buffer.from("hello").toString("base64"),
  retain,
});
const subscribe = (username: string, clientId: string, topics: { topic: string; qos: number }[]) => ({
  username,
  client_id: clientId,
  mountpoint: "",
  topics,
});

describe("auth_on_register and auth_on_register_m5", () => {
  it.each([
    ["auth_on_register", register],
    ["auth_on_register_m5", registerM5],
  ] as const)("%s: ok for a provisioned client, not_allowed for a wrong password", async (hook, body) => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await reply(hook, body("dev1", PASSWORD))).toEqual(OK);
    expect(await reply(hook, body("dev1", "wrong password"))).toEqual(NOT_ALLOWED);
  });

  it("reads the hook name from the vernemq-hook header on the single endpoint", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await reply("auth_on_register", register("dev1", PASSWORD), "header")).toEqual(OK);
    expect(await reply("auth_on_register", register("dev1", "wrong password"), "header")).toEqual(
      NOT_ALLOWED,
    );
  });

  it("refuses an unknown user, a missing username or password (sent as null), a disabled and an expired client", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await provision(ctx, { username: "off", password: PASSWORD, enabled: false });
    await provision(ctx, { username: "old", password: PASSWORD, expires_at: "2099-01-01T00:00:00Z" });
    await request(ctx.app)
      .patch("/api/v1/clients/old")
      .set(bearer)
      .send({ expires_at: "2001-01-01T00:00:00Z" })
      .expect(200);
    expect(await reply("auth_on_register", register("nobody", PASSWORD))).toEqual(NOT_ALLOWED);
    expect(await reply("auth_on_register", register(null, null))).toEqual(NOT_ALLOWED);
    expect(await reply("auth_on_register", register("dev1", null))).toEqual(NOT_ALLOWED);
    expect(await reply("auth_on_register", register("off", PASSWORD))).toEqual(NOT_ALLOWED);
    expect(await reply("auth_on_register", register("old", PASSWORD))).toEqual(NOT_ALLOWED);
  });

  it("answers next for an unknown user with MQTT_AUTHD_UNKNOWN_USER=ignore, and still refuses a wrong password", async () => {
    await ctx.close();
    ctx = await createTestContext({ MQTT_AUTHD_UNKNOWN_USER: "ignore" });
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await reply("auth_on_register", register("nobody", PASSWORD))).toEqual(NEXT);
    expect(await reply("auth_on_register_m5", registerM5("nobody", PASSWORD))).toEqual(NEXT);
    expect(await reply("auth_on_register", register("dev1", "wrong password"))).toEqual(NOT_ALLOWED);
  });

  it("checks the client id against the bound one and records peer_addr as the peer host", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD, client_id: "sensor-42" });
    expect(await reply("auth_on_register", register("dev1", PASSWORD, "sensor-43"))).toEqual(NOT_ALLOWED);
    expect(await reply("auth_on_register", register("dev1", PASSWORD, "sensor-42"))).toEqual(OK);
    await vi.waitFor(async () => {
      const client = await request(ctx.app).get("/api/v1/clients/dev1").set(bearer).expect(200);
      expect(client.body.last_login_peerhost).toBe("127.0.0.1");
    });
  });

  it("answers next promptly when it cannot decide (VerneMQ refuses when no plugin says ok)", async () => {
    vi.spyOn(ctx.services.store, "findClient").mockRejectedValue(new Error("disk I/O error"));
    vi.spyOn(ctx.services.store, "findClientWithRules").mockRejectedValue(new Error("disk I/O error"));
    expect(await reply("auth_on_register", register("dev1", PASSWORD))).toEqual(NEXT);
  });
});

describe("auth_on_publish and auth_on_subscribe", () => {
  beforeEach(async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await request(ctx.app)
      .put("/api/v1/clients/dev1/acl")
      .set(bearer)
      .send({
        rules: [
          { permission: "deny", action: "publish", topic: "sensors/${clientid}/retained", retain: true },
          { permission: "deny", action: "publish", topic: "sensors/${clientid}/#", qos: [2] },
          { permission: "allow", action: "publish", topic: "sensors/${clientid}/#" },
          { permission: "allow", action: "subscribe", topic: "cmd/${clientid}/#" },
        ],
      })
      .expect(200);
  });

  it.each(["auth_on_publish", "auth_on_publish_m5"] as const)(
    "%s: ok or not_allowed, with the publish's own QoS and retain flag",
    async (hook) => {
      expect(await reply(hook, publish("dev1", "c1", "sensors/c1/t"))).toEqual(OK);
      expect(await reply(hook, publish("dev1", "c1", "sensors/c2/t"))).toEqual(NOT_ALLOWED);
      expect(await reply(hook, publish("dev1", "c1", "sensors/c1/t", 2))).toEqual(NOT_ALLOWED);
      expect(await reply(hook, publish("dev1", "c1", "sensors/c1/retained", 0, false))).toEqual(OK);
      expect(await reply(hook, publish("dev1", "c1", "sensors/c1/retained", 0, true))).toEqual(NOT_ALLOWED);
    },
  );

  it("accepts a publish sent with no_payload (no payload field)", async () => {
    const { payload: _, ...body } = publish("dev1", "c1", "sensors/c1/t");
    expect(await reply("auth_on_publish", body)).toEqual(OK);
  });

  it("auth_on_subscribe: a bare ok when every topic is allowed", async () => {
    const body = subscribe("dev1", "c1", [
      { topic: "cmd/c1/#", qos: 1 },
      { topic: "cmd/c1/x", qos: 0 },
    ]);
    expect(await reply("auth_on_subscribe", body)).toEqual(OK);
  });

  it("auth_on_subscribe: the topic list with qos 128 for each refused topic", async () => {
    const body = subscribe("dev1", "c1", [
      { topic: "cmd/c1/#", qos: 1 },
      { topic: "cmd/#", qos: 2 },
      { topic: "sensors/c1/t", qos: 0 },
    ]);
    expect(await reply("auth_on_subscribe", body)).toEqual({
      result: "ok",
      topics: [
        { topic: "cmd/c1/#", qos: 1 },
        { topic: "cmd/#", qos: 128 },
        { topic: "sensors/c1/t", qos: 128 },
      ],
    });
  });

  it("auth_on_subscribe_m5: modifiers.topics with 135 for refused topics, allowed ones with their options unchanged", async () => {
    const allowed = {
      topic: "cmd/c1/#",
      qos: 1,
      no_local: true,
      rap: false,
      retain_handling: "send_if_new_sub",
    };
    const body = subscribe("dev1", "c1", [allowed, { topic: "cmd/#", qos: 0 }]);
    expect(await reply("auth_on_subscribe_m5", { ...body, properties: {} })).toEqual({
      result: "ok",
      modifiers: { topics: [allowed, { topic: "cmd/#", qos: 135 }] },
    });
  });

  it("auth_on_subscribe: every topic refused is still a list (the client gets its SUBACK), not an error", async () => {
    const body = subscribe("dev1", "c1", [{ topic: "#", qos: 0 }]);
    expect(await reply("auth_on_subscribe", body)).toEqual({
      result: "ok",
      topics: [{ topic: "#", qos: 128 }],
    });
  });

  it("answers next for an unknown user with MQTT_AUTHD_UNKNOWN_USER=ignore, not_allowed by default", async () => {
    expect(await reply("auth_on_publish", publish("nobody", "c1", "a/b"))).toEqual(NOT_ALLOWED);
    await ctx.close();
    ctx = await createTestContext({ MQTT_AUTHD_UNKNOWN_USER: "ignore" });
    expect(await reply("auth_on_publish", publish("nobody", "c1", "a/b"))).toEqual(NEXT);
    expect(await reply("auth_on_subscribe", subscribe("nobody", "c1", [{ topic: "a/b", qos: 0 }]))).toEqual(
      NEXT,
    );
  });

  it("answers next promptly when it cannot decide", async () => {
    vi.spyOn(ctx.services.store, "findClientWithRules").mockRejectedValue(new Error("disk I/O error"));
    expect(await reply("auth_on_publish", publish("dev1", "c1", "sensors/c1/t"))).toEqual(NEXT);
    expect(
      await reply("auth_on_subscribe", subscribe("dev1", "c1", [{ topic: "cmd/c1/x", qos: 0 }])),
    ).toEqual(NEXT);
  });
});

describe("malformed calls and the secret path segment", () => {
  it("answers 400 for an unknown or missing hook name (VerneMQ logs an error and refuses)", async () => {
    const unknown = await request(ctx.app)
      .post(`${BASE}/on_register`)
      .set("content-type", "application/json")
      .send("{}");
    expect(unknown.status).toBe(400);
    const missing = await request(ctx.app).post(BASE).set("content-type", "application/json").send("{}");
    expect(missing.status).toBe(400);
  });

  it("answers 400 for a body that is not the hook's shape", async () => {
    const res = await call("auth_on_publish", { username: "dev1", client_id: "c1", topic: "a", qos: 7 });
    expect(res.status).toBe(400);
  });

  it("answers 401 for a wrong or missing secret", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    for (const url of [
      "/vernemq/wrong-secret-0123456789abcdef/auth_on_register",
      "/vernemq/auth_on_register",
    ]) {
      const res = await request(ctx.app)
        .post(url)
        .set("content-type", "application/json")
        .set("vernemq-hook", "auth_on_register")
        .send(JSON.stringify(register("dev1", PASSWORD)));
      expect(res.status, url).toBe(401);
    }
  });

  it("never writes the secret or a password to the log", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await reply("auth_on_register", register("dev1", PASSWORD));
    await reply("auth_on_register", register("dev1", "wrong password"), "header");
    const logs = ctx.logs.join("");
    expect(logs).toContain("/vernemq/:secret/auth_on_register");
    for (const secret of [HOOK_SECRET, PASSWORD, "wrong password"]) expect(logs).not.toContain(secret);
  });
});
