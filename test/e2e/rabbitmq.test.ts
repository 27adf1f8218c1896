// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${clientid}" is the placeholder syntax under test.
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/open.js";
import { createSqliteStore } from "../../src/db/sqlite-store.js";
import { ADMIN_TOKEN } from "../helpers/context.js";
import { childEnv, makeTempDir, removeDir } from "../helpers/processes.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";
import { type RabbitMq, rabbitmqInstalled, startRabbitMq } from "./rabbitmq-broker.js";

/**
 * Real MQTT clients against a real RabbitMQ 3.10 (rabbitmq_mqtt + rabbitmq_auth_backend_http) whose
 * every login, vhost, resource and topic question goes to the real mqtt-authd process. Skipped only
 * where RabbitMQ is not installed and this is not CI; CI installs it (.ci/run).
 */
const enabled = rabbitmqInstalled() || process.env.CI === "true";

/** Every wait is bounded, so a broker that never answers fails the test instead of hanging it. */
const WAIT_MS = 10_000;

function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** mosquitto's `$7$` format (peer-brokers.md §2): PBKDF2-HMAC-SHA512, 101 iterations, 12-byte salt. */
function mosquittoPbkdf2(password: string): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, 101, 64, "sha512");
  return `$7$101$${salt.toString("base64")}$${hash.toString("base64")}`;
}

describe.skipIf(!enabled)("RabbitMQ 3.10 MQTT through mqtt-authd, end to end", () => {
  let dir: string;
  let rabbitDir: string;
  let server: ServerProcess;
  let rabbit: RabbitMq;
  const clients: MqttClient[] = [];

  const api = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${server.baseUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    expect(res.ok, `${method} ${path}: ${res.status} ${text}`).toBe(true);
    return text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
  };

  const provision = async (username: string, password: string, extra: Record<string, unknown> = {}) => {
    const { rules, ...client } = extra;
    await api("POST", "/clients", { username, password, ...client });
    if (rules !== undefined) await api("PUT", `/clients/${username}/acl`, { rules });
  };

  type Connected =
    | { ok: true; client: MqttClient }
    | { ok: false; code: number | undefined; message: string };

  /** One MQTT 3.1.1 CONNECT (RabbitMQ 3.10 speaks no MQTT 5), resolved by the CONNACK or the close. */
  const connect = (username: string, password: string, clientId: string): Promise<Connected> => {
    const client = mqtt.connect({
      host: "127.0.0.1",
      port: rabbit.mqttPort,
      protocolVersion: 4,
      username,
      password,
      clientId,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
    });
    clients.push(client);
    const outcome = new Promise<Connected>((resolve) => {
      client.once("connect", () => resolve({ ok: true, client }));
      client.once("error", (err) =>
        resolve({ ok: false, code: (err as { code?: number }).code, message: err.message }),
      );
      client.once("close", () =>
        resolve({ ok: false, code: undefined, message: "closed without a CONNACK" }),
      );
    });
    return within(outcome, `the CONNACK for ${username}`);
  };

  const connected = async (username: string, password: string, clientId: string): Promise<MqttClient> => {
    const result = await connect(username, password, clientId);
    if (!result.ok) throw new Error(`${username} was refused: ${result.message}`);
    return result.client;
  };

  /** Every message a client receives, and a way to wait for one on a topic. */
  const inbox = (client: MqttClient) => {
    const received: { topic: string; payload: string }[] = [];
    const waiters: { topic: string; resolve: () => void }[] = [];
    client.on("message", (topic, payload) => {
      received.push({ topic, payload: payload.toString("utf8") });
      for (const w of waiters.filter((w) => w.topic === topic)) w.resolve();
    });
    return {
      received,
      waitFor: (topic: string) =>
        within(
          new Promise<void>((resolve) => {
            if (received.some((m) => m.topic === topic)) resolve();
            else waiters.push({ topic, resolve });
          }),
          `a message on ${topic}`,
        ),
    };
  };

  beforeAll(async () => {
    dir = makeTempDir();
    const secretFile = join(dir, "hook-secret");
    const tokenFile = join(dir, "admin-token");
    writeFileSync(secretFile, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
    writeFileSync(tokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
    server = await startServer(
      childEnv({
        MQTT_AUTHD_DB: join(dir, "mqtt-authd.db"),
        MQTT_AUTHD_HOOK_SECRET_FILE: secretFile,
        MQTT_AUTHD_ADMIN_TOKEN_FILE: tokenFile,
        MQTT_AUTHD_CONTRACTS: "rabbitmq",
      }),
    );
    // Its own folder: the broker runs as the rabbitmq user, who must not read ours.
    rabbitDir = makeTempDir();
    rabbit = await startRabbitMq(server.baseUrl, rabbitDir, secretFile);
  }, 240_000);

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await rabbit?.stop();
    await server?.stop();
    for (const d of [rabbitDir, dir]) if (d !== undefined) removeDir(d);
  }, 90_000);

  it("lets a provisioned client in with its password", async () => {
    await provision("dev-ok", "correct horse battery");
    const client = await connected("dev-ok", "correct horse battery", "c-ok");
    expect(client.connected).toBe(true);
  });

  it("refuses a wrong password, an unknown user, a disabled client and an expired client with CONNACK 4", async () => {
    await provision("dev-pw", "correct horse battery");
    await provision("dev-off", "correct horse battery", { enabled: false });
    await provision("dev-old", "correct horse battery", { expires_at: "2099-01-01T00:00:00Z" });
    await api("PATCH", "/clients/dev-old", { expires_at: "2001-01-01T00:00:00Z" });
    const attempts = [
      ["dev-pw", "wrong password"],
      ["nobody", "correct horse battery"],
      ["dev-off", "correct horse battery"],
      ["dev-old", "correct horse battery"],
    ] as const;
    for (const [username, password] of attempts) {
      const result = await connect(username, password, `c-${username}`);
      // RabbitMQ answers every refusal of its auth backend with "bad user name or password".
      expect(result, username).toMatchObject({ ok: false, code: 4 });
    }
  });

  it("delivers an allowed publish to an allowed subscriber, never a forbidden one, and refuses a forbidden filter", async () => {
    await provision("dev-sub", "correct horse battery", {
      rules: [
        { permission: "allow", action: "subscribe", topic: "sensors/#" },
        { permission: "allow", action: "subscribe", topic: "secret/#" },
      ],
    });
    await provision("dev-pub", "correct horse battery", {
      rules: [{ permission: "allow", action: "publish", topic: "sensors/${clientid}/#" }],
    });
    const sub = await connected("dev-sub", "correct horse battery", "sub1");
    const messages = inbox(sub);
    const granted = await within(sub.subscribeAsync(["sensors/#", "secret/#"], { qos: 1 }), "SUBACK");
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);

    const pub = await connected("dev-pub", "correct horse battery", "pub1");
    await within(pub.publishAsync("sensors/pub1/temp", "21.5", { qos: 1 }), "PUBACK");
    await messages.waitFor("sensors/pub1/temp");
    expect(messages.received).toEqual([{ topic: "sensors/pub1/temp", payload: "21.5" }]);

    // RabbitMQ answers a refused QoS 1 publish by closing the publisher's connection.
    const closed = new Promise<void>((resolve) => pub.once("close", () => resolve()));
    pub.publish("secret/plans", "leak", { qos: 1 });
    await within(closed, "the publisher's connection to close");

    // A marker sent after it arrives; the forbidden message, never routed, cannot be behind it.
    const pub2 = await connected("dev-pub", "correct horse battery", "pub1");
    await within(pub2.publishAsync("sensors/pub1/marker", "after", { qos: 1 }), "PUBACK");
    await messages.waitFor("sensors/pub1/marker");
    expect(messages.received.map((m) => m.topic)).toEqual(["sensors/pub1/temp", "sensors/pub1/marker"]);

    // A refused filter: RabbitMQ 3.10 closes the connection where later versions answer SUBACK 0x80.
    const spy = await connected("dev-sub", "correct horse battery", "sub2");
    const closedSpy = new Promise<"closed">((resolve) => spy.once("close", () => resolve("closed")));
    const suback = spy.subscribeAsync("private/#", { qos: 1 }).then(
      (granted) => granted.map((g) => g.qos),
      () => "closed" as const,
    );
    const outcome = await within(Promise.race([suback, closedSpy]), "the SUBACK or the close");
    expect([[128], "closed"]).toContainEqual(outcome);
  });

  it("makes the old password fail on the next connect once the password is rotated", async () => {
    await provision("dev-rot", "old password 1234");
    (await connected("dev-rot", "old password 1234", "c-rot")).end(true);
    await api("POST", "/clients/dev-rot/password", { password: "new password 5678" });
    expect(await connect("dev-rot", "old password 1234", "c-rot")).toMatchObject({ ok: false, code: 4 });
    expect((await connect("dev-rot", "new password 5678", "c-rot")).ok).toBe(true);
  });

  it("lets a client imported from mosquitto in with its old password ($7$ PBKDF2-SHA512)", async () => {
    const db = openDatabase(join(dir, "mqtt-authd.db"));
    const store = createSqliteStore(db);
    try {
      const inserted = await store.insertClient(
        {
          username: "legacy",
          password: {
            hash: mosquittoPbkdf2("mosquitto era"),
            format: "mosquitto-pbkdf2-sha512",
            origin: "imported",
          },
          boundClientId: null,
          isSuperuser: false,
          isEnabled: true,
          expiresAt: null,
          description: "imported from a mosquitto password file",
        },
        { actor: "test", action: "client.import", target: "legacy" },
      );
      expect(inserted).toBe(true);
    } finally {
      await store.close();
    }
    expect((await connect("legacy", "mosquitto era", "c-legacy")).ok).toBe(true);
    expect(await connect("legacy", "not the password", "c-legacy")).toMatchObject({ ok: false, code: 4 });
  });
});
