// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${clientid}" is the placeholder syntax under test.
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { actionsFor } from "../../src/http/hooks/goauth.js";
import { provision } from "../helpers/api.js";
import { bearer, createTestContext, HOOK_SECRET, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const PASSWORD = "correct horse battery";
const BASE = `/goauth/${HOOK_SECRET}`;

type Mode = "json-post" | "json-get" | "json-put" | "form";
const MODES: readonly Mode[] = ["json-post", "json-get", "json-put", "form"];

/**
 * Calls the backend as go-auth's HTTP backend does (backends/http.go): a JSON body with
 * `User-Agent: mosquitto-<ver>` for POST, GET and PUT (params_mode json), or a POSTed form with every
 * value a string (params_mode form).
 */
function call(path: string, fields: Record<string, string | number>, mode: Mode = "json-post"): request.Test {
  const url = `${BASE}/${path}`;
  if (mode === "form") {
    const form = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]));
    return request(ctx.app).post(url).type("form").send(form);
  }
  const method = mode === "json-get" ? "get" : mode === "json-put" ? "put" : "post";
  return request(ctx.app)
    [method](url)
    .set("content-type", "application/json")
    .set("user-agent", "mosquitto-2.0.0")
    .send(JSON.stringify(fields));
}

/**
 * What go-auth concludes, in both response modes it can be configured with: `status` (2xx allows)
 * and `json` (2xx and ok:true allows; ≥500 would be an error, not a decision).
 */
async function verdict(path: string, fields: Record<string, string | number>, mode: Mode = "json-post") {
  const res = await call(path, fields, mode);
  expect(res.status, res.text).toBeLessThan(500);
  const statusMode = res.status >= 200 && res.status < 300;
  const jsonMode = statusMode && (res.body as { ok?: unknown }).ok === true;
  expect(jsonMode, "status and json modes agree").toBe(statusMode);
  // A decision is 403 with the json-mode body; a 4xx for a malformed request is a denial to go-auth too.
  if (res.status === 403) expect(res.body).toEqual({ ok: false, error: expect.any(String) });
  return statusMode ? "allow" : "deny";
}

const user = (username: string, password: string, clientid = "c1") => ({ username, password, clientid });
const acl = (username: string, clientid: string, topic: string, acc: number) => ({
  username,
  clientid,
  topic,
  acc,
});

describe("/goauth/<secret>/user", () => {
  it.each(MODES)("allows a provisioned client with its password (%s)", async (mode) => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await verdict("user", user("dev1", PASSWORD), mode)).toBe("allow");
  });

  it.each(MODES)("denies a wrong password and an unknown user (%s)", async (mode) => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await verdict("user", user("dev1", "wrong password"), mode)).toBe("deny");
    expect(await verdict("user", user("nobody", PASSWORD), mode)).toBe("deny");
  });

  it("answers allow as 200 {ok:true} and deny as 403 {ok:false, error}, the same error whatever the reason", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await provision(ctx, { username: "off", password: PASSWORD, enabled: false });
    const allowed = await call("user", user("dev1", PASSWORD));
    expect([allowed.status, allowed.body]).toEqual([200, { ok: true }]);
    const bodies = new Set<string>();
    for (const fields of [user("dev1", "wrong password"), user("nobody", PASSWORD), user("off", PASSWORD)]) {
      const res = await call("user", fields);
      expect(res.status).toBe(403);
      bodies.add(res.text);
    }
    expect(bodies.size).toBe(1);
  });

  it("denies a disabled client, an expired one and a client id other than the bound one", async () => {
    await provision(ctx, { username: "off", password: PASSWORD, enabled: false });
    await provision(ctx, { username: "old", password: PASSWORD, expires_at: "2099-01-01T00:00:00Z" });
    await request(ctx.app)
      .patch("/api/v1/clients/old")
      .set(bearer)
      .send({ expires_at: "2001-01-01T00:00:00Z" })
      .expect(200);
    await provision(ctx, { username: "bound", password: PASSWORD, client_id: "sensor-42" });
    expect(await verdict("user", user("off", PASSWORD))).toBe("deny");
    expect(await verdict("user", user("old", PASSWORD))).toBe("deny");
    expect(await verdict("user", user("bound", PASSWORD, "sensor-43"))).toBe("deny");
    expect(await verdict("user", user("bound", PASSWORD, "sensor-42"))).toBe("allow");
  });

  it("answers a prompt 503 when it cannot decide: go-auth retries errors and, unlike denials, does not cache them", async () => {
    vi.spyOn(ctx.services.store, "findClient").mockRejectedValue(new Error("disk I/O error"));
    vi.spyOn(ctx.services.store, "findClientWithRules").mockRejectedValue(new Error("disk I/O error"));
    const res = await call("user", user("dev1", PASSWORD));
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ ok: false, error: "cannot decide now" });
  });
});

describe("/goauth/<secret>/superuser", () => {
  it.each(MODES)("answers allow only for an active superuser (%s)", async (mode) => {
    await provision(ctx, { username: "root", password: PASSWORD, is_superuser: true });
    await provision(ctx, { username: "off", password: PASSWORD, is_superuser: true, enabled: false });
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await verdict("superuser", { username: "root" }, mode)).toBe("allow");
    expect(await verdict("superuser", { username: "off" }, mode)).toBe("deny");
    expect(await verdict("superuser", { username: "dev1" }, mode)).toBe("deny");
    expect(await verdict("superuser", { username: "nobody" }, mode)).toBe("deny");
  });
});

describe("/goauth/<secret>/acl", () => {
  beforeEach(async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await request(ctx.app)
      .put("/api/v1/clients/dev1/acl")
      .set(bearer)
      .send({
        rules: [
          { permission: "allow", action: "publish", topic: "sensors/${clientid}/#" },
          { permission: "allow", action: "subscribe", topic: "cmd/${clientid}/#" },
          { permission: "allow", action: "all", topic: "chat/${clientid}" },
        ],
      })
      .expect(200);
  });

  it.each(MODES)("maps acc 2 (write) to publish (%s)", async (mode) => {
    expect(await verdict("acl", acl("dev1", "c1", "sensors/c1/t", 2), mode)).toBe("allow");
    expect(await verdict("acl", acl("dev1", "c1", "sensors/c2/t", 2), mode)).toBe("deny");
    expect(await verdict("acl", acl("dev1", "c1", "cmd/c1/x", 2), mode)).toBe("deny");
  });

  it("maps acc 4 (subscribe) to subscribe with the filter", async () => {
    expect(await verdict("acl", acl("dev1", "c1", "cmd/c1/#", 4))).toBe("allow");
    expect(await verdict("acl", acl("dev1", "c1", "cmd/+/x", 4))).toBe("deny");
    expect(await verdict("acl", acl("dev1", "c1", "sensors/c1/t", 4))).toBe("deny");
  });

  it("maps acc 1 (read, per delivered message) to subscribing to exactly that topic name", async () => {
    expect(await verdict("acl", acl("dev1", "c1", "cmd/c1/reboot", 1))).toBe("allow");
    expect(await verdict("acl", acl("dev1", "c1", "cmd/c2/reboot", 1))).toBe("deny");
    expect(await verdict("acl", acl("dev1", "c1", "sensors/c1/t", 1))).toBe("deny");
  });

  it("requires both for acc 3 (readwrite)", async () => {
    expect(await verdict("acl", acl("dev1", "c1", "chat/c1", 3))).toBe("allow");
    expect(await verdict("acl", acl("dev1", "c1", "sensors/c1/t", 3))).toBe("deny");
    expect(await verdict("acl", acl("dev1", "c1", "cmd/c1/x", 3))).toBe("deny");
  });

  it("denies an unknown user, and allows a superuser everything", async () => {
    await provision(ctx, { username: "root", password: PASSWORD, is_superuser: true });
    expect(await verdict("acl", acl("nobody", "c1", "sensors/c1/t", 2))).toBe("deny");
    expect(await verdict("acl", acl("root", "c1", "any/thing", 2))).toBe("allow");
  });

  it("denies an acc outside 1-4 and a publish to a topic with wildcards, with a 4xx", async () => {
    for (const acc of [0, 5, 8]) {
      expect(await verdict("acl", acl("dev1", "c1", "chat/c1", acc))).toBe("deny");
    }
    expect(await verdict("acl", acl("dev1", "c1", "sensors/c1/#", 2))).toBe("deny");
  });

  it("answers a prompt 503 when it cannot decide", async () => {
    vi.spyOn(ctx.services.store, "findClientWithRules").mockRejectedValue(new Error("disk I/O error"));
    expect((await call("acl", acl("dev1", "c1", "sensors/c1/t", 2))).status).toBe(503);
  });
});

describe("actionsFor", () => {
  it.each([
    [1, ["subscribe"]],
    [2, ["publish"]],
    [3, ["subscribe", "publish"]],
    [4, ["subscribe"]],
  ])("acc %i → %j", (acc, actions) => {
    expect(actionsFor(acc)).toEqual(actions);
  });
});

describe("the secret path segment", () => {
  it("answers 401 (a denial for go-auth, not an error) for a wrong or missing secret", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    for (const url of ["/goauth/wrong-secret-0123456789abcdef/user", "/goauth/user"]) {
      const res = await request(ctx.app)
        .post(url)
        .set("content-type", "application/json")
        .send(JSON.stringify(user("dev1", PASSWORD)));
      expect(res.status, url).toBe(401);
    }
  });

  it("never writes the secret or a password to the log", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await verdict("user", user("dev1", PASSWORD));
    await verdict("user", user("dev1", "wrong password"));
    const logs = ctx.logs.join("");
    expect(logs).toContain("/goauth/:secret/user");
    for (const secret of [HOOK_SECRET, PASSWORD, "wrong password"]) expect(logs).not.toContain(secret);
  });
});
