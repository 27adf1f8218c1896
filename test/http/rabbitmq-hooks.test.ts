// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${clientid}" is the placeholder syntax under test.
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { routingKeyToTopic } from "../../src/http/hooks/rabbitmq.js";
import { provision } from "../helpers/api.js";
import { bearer, createTestContext, HOOK_SECRET, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const PASSWORD = "correct horse battery";
const BASE = `/rabbitmq/${HOOK_SECRET}/auth`;

type Fields = Record<string, string>;

/** Calls a hook as rabbitmq_auth_backend_http does: a form body (http_method = post) or a GET query. */
function call(path: string, fields: Fields, method: "post" | "get" = "post", base = BASE): request.Test {
  return method === "post"
    ? request(ctx.app).post(`${base}/${path}`).type("form").send(fields)
    : request(ctx.app).get(`${base}/${path}`).query(fields);
}

/** The answer, after checking what RabbitMQ requires of it: status 200 and a plain-text body. */
async function answer(path: string, fields: Fields, method: "post" | "get" = "post"): Promise<string> {
  const res = await call(path, fields, method);
  expect(res.status, res.text).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  return res.text;
}

// The fields RabbitMQ 3.10.8 sends for an MQTT connection (peer-brokers.md §7, observed).
const userFields = (username: string, password: string, clientId = "c1"): Fields => ({
  username,
  password,
  vhost: "/",
  client_id: clientId,
});
const vhostFields = (username: string, clientId = "c1"): Fields => ({
  username,
  vhost: "/",
  ip: "127.0.0.1",
  tags: "",
  client_id: clientId,
});
const resourceFields = (
  username: string,
  resource: string,
  name: string,
  permission: string,
  clientId: string | null = "c1",
): Fields => ({
  username,
  vhost: "/",
  resource,
  name,
  permission,
  tags: "",
  ...(clientId !== null && { client_id: clientId }),
});
const topicFields = (username: string, clientId: string, permission: string, routingKey: string): Fields => ({
  username,
  vhost: "/",
  resource: "topic",
  name: "amq.topic",
  permission,
  tags: "",
  routing_key: routingKey,
  "variable_map.client_id": clientId,
  "variable_map.username": username,
  "variable_map.vhost": "/",
});

async function setRules(username: string, rules: unknown[]): Promise<void> {
  await request(ctx.app).put(`/api/v1/clients/${username}/acl`).set(bearer).send({ rules }).expect(200);
}

describe("/rabbitmq/<secret>/auth/user", () => {
  it.each(["post", "get"] as const)("allows a provisioned client with its password (%s)", async (method) => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await answer("user", userFields("dev1", PASSWORD), method)).toBe("allow");
  });

  it("answers a superuser a plain allow: no management tag such as administrator", async () => {
    await provision(ctx, { username: "root", password: PASSWORD, is_superuser: true });
    expect(await answer("user", userFields("root", PASSWORD))).toBe("allow");
  });

  it("denies a wrong password, an unknown user, a disabled and an expired client", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await provision(ctx, { username: "off", password: PASSWORD, enabled: false });
    await provision(ctx, { username: "old", password: PASSWORD, expires_at: "2099-01-01T00:00:00Z" });
    await request(ctx.app)
      .patch("/api/v1/clients/old")
      .set(bearer)
      .send({ expires_at: "2001-01-01T00:00:00Z" })
      .expect(200);
    expect(await answer("user", userFields("dev1", "wrong password"))).toBe("deny");
    expect(await answer("user", userFields("nobody", PASSWORD))).toBe("deny");
    expect(await answer("user", userFields("off", PASSWORD))).toBe("deny");
    expect(await answer("user", userFields("old", PASSWORD))).toBe("deny");
  });

  it("answers deny, not ignore, for an unknown user with MQTT_AUTHD_UNKNOWN_USER=ignore (RabbitMQ then asks its next backend)", async () => {
    await ctx.close();
    ctx = await createTestContext({ MQTT_AUTHD_UNKNOWN_USER: "ignore" });
    expect(await answer("user", userFields("nobody", PASSWORD))).toBe("deny");
  });

  it("denies a client id other than the bound one", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD, client_id: "sensor-42" });
    expect(await answer("user", userFields("dev1", PASSWORD, "sensor-43"))).toBe("deny");
    expect(await answer("user", userFields("dev1", PASSWORD, "sensor-42"))).toBe("allow");
  });

  it("answers a prompt 503 when it cannot decide (RabbitMQ logs an error and refuses, and caches nothing)", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    vi.spyOn(ctx.services.store, "findClient").mockRejectedValue(new Error("disk I/O error"));
    vi.spyOn(ctx.services.store, "findClientWithRules").mockRejectedValue(new Error("disk I/O error"));
    const res = await call("user", userFields("dev1", PASSWORD));
    expect(res.status).toBe(503);
    expect(res.text).not.toMatch(/^allow/);
  });

  it("answers 400 when the username is missing (RabbitMQ refuses on any non-200)", async () => {
    const res = await call("user", { password: PASSWORD });
    expect(res.status).toBe(400);
  });
});

describe("/rabbitmq/<secret>/auth/vhost", () => {
  it("allows an active client and denies an unknown, disabled or differently bound one", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await provision(ctx, { username: "bound", password: PASSWORD, client_id: "c9" });
    await provision(ctx, { username: "off", password: PASSWORD, enabled: false });
    expect(await answer("vhost", vhostFields("dev1"))).toBe("allow");
    expect(await answer("vhost", vhostFields("dev1"), "get")).toBe("allow");
    expect(await answer("vhost", vhostFields("bound", "c9"))).toBe("allow");
    expect(await answer("vhost", vhostFields("bound", "c1"))).toBe("deny");
    expect(await answer("vhost", vhostFields("nobody"))).toBe("deny");
    expect(await answer("vhost", vhostFields("off"))).toBe("deny");
  });
});

describe("/rabbitmq/<secret>/auth/resource", () => {
  it("allows the MQTT plugin's own subscription queues and amq.topic read/write, nothing else", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD, client_id: "c1" });
    for (const permission of ["configure", "write", "read"]) {
      expect(
        await answer("resource", resourceFields("dev1", "queue", "mqtt-subscription-c1qos0", permission)),
      ).toBe("allow");
      expect(
        await answer("resource", resourceFields("dev1", "queue", "mqtt-subscription-c1qos1", permission)),
      ).toBe("allow");
      expect(
        await answer("resource", resourceFields("dev1", "queue", "mqtt-subscription-c2qos0", permission)),
      ).toBe("deny");
      expect(await answer("resource", resourceFields("dev1", "queue", "orders", permission))).toBe("deny");
      expect(await answer("resource", resourceFields("dev1", "exchange", "amq.direct", permission))).toBe(
        "deny",
      );
    }
    expect(await answer("resource", resourceFields("dev1", "exchange", "amq.topic", "write"))).toBe("allow");
    expect(await answer("resource", resourceFields("dev1", "exchange", "amq.topic", "read"))).toBe("allow");
    expect(await answer("resource", resourceFields("dev1", "exchange", "amq.topic", "configure"))).toBe(
      "deny",
    );
  });

  it("holds a connection to the queues of its own client_id, bound or not", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const queue = (name: string, clientId: string) => resourceFields("dev1", "queue", name, "read", clientId);
    expect(await answer("resource", queue("mqtt-subscription-c7qos1", "c7"))).toBe("allow");
    expect(await answer("resource", queue("mqtt-subscription-c8qos1", "c7"))).toBe("deny");
    expect(await answer("resource", queue("mqtt-subscription-c7qos2", "c7"))).toBe("deny");
  });

  it("without a client_id (not an MQTT connection), allows a bound client only its own queues", async () => {
    await provision(ctx, { username: "free", password: PASSWORD });
    await provision(ctx, { username: "bound", password: PASSWORD, client_id: "c1" });
    const queue = (username: string, name: string) => resourceFields(username, "queue", name, "read", null);
    expect(await answer("resource", queue("bound", "mqtt-subscription-c1qos0"))).toBe("allow");
    expect(await answer("resource", queue("bound", "mqtt-subscription-c2qos0"))).toBe("deny");
    expect(await answer("resource", queue("free", "mqtt-subscription-c2qos0"))).toBe("allow");
    expect(await answer("resource", queue("free", "orders"))).toBe("deny");
  });

  it("allows a superuser everything, and nobody who is unknown or disabled", async () => {
    await provision(ctx, { username: "root", password: PASSWORD, is_superuser: true });
    await provision(ctx, { username: "off", password: PASSWORD, enabled: false, is_superuser: true });
    expect(await answer("resource", resourceFields("root", "queue", "orders", "configure"))).toBe("allow");
    expect(await answer("resource", resourceFields("root", "exchange", "amq.direct", "write"))).toBe("allow");
    expect(await answer("resource", resourceFields("off", "exchange", "amq.topic", "write"))).toBe("deny");
    expect(await answer("resource", resourceFields("nobody", "exchange", "amq.topic", "write"))).toBe("deny");
  });
});

describe("/rabbitmq/<secret>/auth/topic", () => {
  beforeEach(async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await setRules("dev1", [
      { permission: "allow", action: "publish", topic: "sensors/${clientid}/#" },
      { permission: "allow", action: "subscribe", topic: "cmd/${clientid}/#" },
    ]);
  });

  it("maps write to publish and read to subscribe, over the routing key translated back to a topic", async () => {
    expect(await answer("topic", topicFields("dev1", "c1", "write", "sensors.c1.temp"))).toBe("allow");
    expect(await answer("topic", topicFields("dev1", "c1", "write", "sensors.c2.temp"))).toBe("deny");
    expect(await answer("topic", topicFields("dev1", "c1", "read", "cmd.c1.#"))).toBe("allow");
    expect(await answer("topic", topicFields("dev1", "c1", "read", "cmd.c1.*"))).toBe("allow");
    expect(await answer("topic", topicFields("dev1", "c1", "read", "cmd.#"))).toBe("deny");
    // Publishing to a topic it may only subscribe to, and the reverse.
    expect(await answer("topic", topicFields("dev1", "c1", "write", "cmd.c1.x"))).toBe("deny");
    expect(await answer("topic", topicFields("dev1", "c1", "read", "sensors.c1.temp"))).toBe("deny");
  });

  it("answers the same over GET query parameters (RabbitMQ's default http_method)", async () => {
    expect(await answer("topic", topicFields("dev1", "c1", "write", "sensors.c1.temp"), "get")).toBe("allow");
  });

  it("uses variable_map.client_id as the client id of the placeholders", async () => {
    expect(await answer("topic", topicFields("dev1", "c2", "write", "sensors.c2.temp"))).toBe("allow");
    expect(await answer("topic", topicFields("dev1", "c2", "write", "sensors.c1.temp"))).toBe("deny");
  });

  it("denies a routing key that is not a valid MQTT topic name for publish", async () => {
    expect(await answer("topic", topicFields("dev1", "c1", "write", "sensors.c1.*"))).toBe("deny");
  });

  it("allows a superuser and denies an unknown user", async () => {
    await provision(ctx, { username: "root", password: PASSWORD, is_superuser: true });
    expect(await answer("topic", topicFields("root", "x", "write", "any.thing"))).toBe("allow");
    expect(await answer("topic", topicFields("nobody", "x", "write", "sensors.x.t"))).toBe("deny");
  });

  it("answers a prompt 503 when it cannot decide", async () => {
    vi.spyOn(ctx.services.store, "findClientWithRules").mockRejectedValue(new Error("disk I/O error"));
    const res = await call("topic", topicFields("dev1", "c1", "write", "sensors.c1.temp"));
    expect(res.status).toBe(503);
  });
});

describe("routingKeyToTopic", () => {
  it.each([
    ["a.b.c", "a/b/c"],
    ["a.*.c", "a/+/c"],
    ["a.#", "a/#"],
    ["#", "#"],
    ["a", "a"],
    ["", ""],
  ])("%s → %s", (key, topic) => {
    expect(routingKeyToTopic(key)).toBe(topic);
  });
});

describe("the secret path segment", () => {
  it("answers 401 for a wrong, prefixed or missing secret, on every path", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    for (const base of [
      "/rabbitmq/wrong-secret-0123456789abcdef/auth",
      `/rabbitmq/${HOOK_SECRET}x/auth`,
      `/rabbitmq/${HOOK_SECRET.slice(0, -1)}/auth`,
      "/rabbitmq/auth",
    ]) {
      for (const path of ["user", "vhost", "resource", "topic"]) {
        const res = await call(path, userFields("dev1", PASSWORD), "post", base);
        expect(res.status, `${base}/${path}`).toBe(401);
        expect(res.text).not.toContain("allow");
      }
    }
  });

  it("answers 404 for an unknown hook without echoing the secret", async () => {
    const res = await request(ctx.app).post(`/rabbitmq/${HOOK_SECRET}/auth/nothing`).type("form").send({});
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(HOOK_SECRET);
  });

  it("never writes the secret, right or wrong, or a password to the log or the metrics", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await answer("user", userFields("dev1", PASSWORD));
    await answer("user", userFields("dev1", "wrong password"));
    await answer("topic", topicFields("dev1", "c1", "write", "a.b"));
    await call(
      "user",
      userFields("dev1", PASSWORD),
      "post",
      "/rabbitmq/near-miss-secret-0123456789/auth",
    ).expect(401);
    const logs = ctx.logs.join("");
    expect(logs).toContain("/rabbitmq/:secret/auth/user");
    for (const secret of [HOOK_SECRET, "near-miss-secret", PASSWORD, "wrong password"]) {
      expect(logs).not.toContain(secret);
    }
    const metrics = await request(ctx.app).get("/metrics").set(bearer).expect(200);
    expect(metrics.text).toContain("/rabbitmq/:secret/auth/user");
    expect(metrics.text).not.toContain(HOOK_SECRET);
  });

  it("is not served when the contract is switched off", async () => {
    await ctx.close();
    ctx = await createTestContext({ MQTT_AUTHD_CONTRACTS: "emqx" });
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect((await call("user", userFields("dev1", PASSWORD))).status).toBe(404);
  });
});
