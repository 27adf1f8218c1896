import argon2 from "argon2";
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { argon2Params } from "../../src/passwords/formats/index.js";
import { authDecision, callAuthHook, HOOK_ENCODINGS, type HookFields, provision } from "../helpers/api.js";
import {
  bearer,
  createTestContext,
  HOOK_SECRET,
  hookHeaders,
  SECRET_HEADER,
  type TestContext,
} from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const PASSWORD = "correct horse battery";
const dev1: HookFields = { username: "dev1", password: PASSWORD };

describe("POST /mqtt/auth: the three encodings EMQX sends", () => {
  it.each(HOOK_ENCODINGS)("allows a provisioned client with its password (%s)", async (encoding) => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await authDecision(ctx, dev1, encoding)).toMatchObject({ result: "allow", is_superuser: false });
  });

  it.each(HOOK_ENCODINGS)("denies a wrong password (%s)", async (encoding) => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect(await authDecision(ctx, { username: "dev1", password: "nope nope" }, encoding)).toEqual({
      result: "deny",
    });
  });

  it("accepts and ignores extra fields an operator templates into the body", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const res = await request(ctx.app)
      .post("/mqtt/auth")
      .set(hookHeaders)
      .send({ ...dev1, clientid: "c1", peerhost: "10.0.0.1", cert_common_name: "", zone: "default" });
    expect(res.body).toMatchObject({ result: "allow", is_superuser: false });
  });
});

describe("POST /mqtt/auth: the response EMQX parses", () => {
  it("answers 200 application/json with result and is_superuser, and no expire_at without an expiry", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const res = await callAuthHook(ctx, dev1);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body.result).toBe("allow");
    expect(res.body.is_superuser).toBe(false);
    expect(res.body).not.toHaveProperty("expire_at");
  });

  it("answers is_superuser true for a superuser", async () => {
    await provision(ctx, { username: "root1", password: PASSWORD, is_superuser: true });
    expect(await authDecision(ctx, { username: "root1", password: PASSWORD })).toMatchObject({
      result: "allow",
      is_superuser: true,
    });
  });

  it("answers expire_at as integer Unix seconds when the client has an expiry", async () => {
    const expiresAt = "2099-06-30T12:34:56.789Z";
    await provision(ctx, { username: "dev1", password: PASSWORD, expires_at: expiresAt });
    const body = await authDecision(ctx, dev1);
    expect(body.result).toBe("allow");
    expect(Number.isInteger(body.expire_at)).toBe(true);
    expect(body.expire_at).toBe(Math.floor(Date.parse(expiresAt) / 1000));
  });

  it("answers a bare deny, without is_superuser or expire_at", async () => {
    await provision(ctx, {
      username: "root1",
      password: PASSWORD,
      is_superuser: true,
      expires_at: "2099-01-01T00:00:00Z",
    });
    expect(await authDecision(ctx, { username: "root1", password: "wrong password" })).toEqual({
      result: "deny",
    });
  });
});

describe("POST /mqtt/auth: who is denied", () => {
  it("denies an unknown username by default", async () => {
    expect(await authDecision(ctx, { username: "ghost", password: PASSWORD })).toEqual({ result: "deny" });
  });

  it("answers ignore for an unknown username with MQTT_AUTHD_UNKNOWN_USER=ignore, but still denies a wrong password", async () => {
    const chained = await createTestContext({ MQTT_AUTHD_UNKNOWN_USER: "ignore" });
    try {
      await provision(chained, { username: "dev1", password: PASSWORD });
      expect(await authDecision(chained, { username: "ghost", password: PASSWORD })).toEqual({
        result: "ignore",
      });
      expect(await authDecision(chained, { username: "dev1", password: "wrong password" })).toEqual({
        result: "deny",
      });
    } finally {
      await chained.close();
    }
  });

  it("denies a disabled client, and allows it again once enabled", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect((await authDecision(ctx, dev1)).result).toBe("allow");
    await request(ctx.app).patch("/api/v1/clients/dev1").set(bearer).send({ enabled: false }).expect(200);
    expect(await authDecision(ctx, dev1)).toEqual({ result: "deny" });
    await request(ctx.app).patch("/api/v1/clients/dev1").set(bearer).send({ enabled: true }).expect(200);
    expect((await authDecision(ctx, dev1)).result).toBe("allow");
  });

  it("denies a client created disabled", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD, enabled: false });
    expect(await authDecision(ctx, dev1)).toEqual({ result: "deny" });
  });

  it("denies an expired client", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD, expires_at: "2099-01-01T00:00:00Z" });
    expect((await authDecision(ctx, dev1)).result).toBe("allow");
    await request(ctx.app)
      .patch("/api/v1/clients/dev1")
      .set(bearer)
      .send({ expires_at: "2001-01-01T00:00:00Z" })
      .expect(200);
    expect(await authDecision(ctx, dev1)).toEqual({ result: "deny" });
  });

  it("denies a client id different from the bound one and allows the bound one", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD, client_id: "sensor-42" });
    expect(await authDecision(ctx, { ...dev1, clientid: "sensor-43" })).toEqual({ result: "deny" });
    expect(await authDecision(ctx, { ...dev1, clientid: "" })).toEqual({ result: "deny" });
    expect(await authDecision(ctx, { ...dev1, clientid: "SENSOR-42" })).toEqual({ result: "deny" });
    expect(await authDecision(ctx, { ...dev1, clientid: "sensor-42" })).toMatchObject({
      result: "allow",
      is_superuser: false,
    });
  });

  it("denies a client id other than the one bound after an earlier successful login", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect((await authDecision(ctx, { ...dev1, clientid: "c1" })).result).toBe("allow");
    await request(ctx.app)
      .patch("/api/v1/clients/dev1")
      .set(bearer)
      .send({ client_id: "sensor-42" })
      .expect(200);
    expect(await authDecision(ctx, { ...dev1, clientid: "c1" })).toEqual({ result: "deny" });
    expect((await authDecision(ctx, { ...dev1, clientid: "sensor-42" })).result).toBe("allow");
  });

  it("denies a password over the maximum size without hashing it", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const verify = vi.spyOn(ctx.services.passwords, "verify");
    const maxBytes = ctx.config.passwordMaxBytes;
    // Multi-byte characters: the limit is in bytes, not characters.
    const tooLong = "é".repeat(Math.floor(maxBytes / 2) + 1);
    expect(await authDecision(ctx, { username: "dev1", password: tooLong })).toEqual({ result: "deny" });
    expect(await authDecision(ctx, { username: "dev1", password: "x".repeat(maxBytes + 1) })).toEqual({
      result: "deny",
    });
    expect(verify).not.toHaveBeenCalled();
    // The spy is live: a normal request does reach the hash check.
    await authDecision(ctx, dev1);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it("denies after the password is rotated: the old password fails, the new one passes", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect((await authDecision(ctx, dev1)).result).toBe("allow");
    await request(ctx.app)
      .post("/api/v1/clients/dev1/password")
      .set(bearer)
      .send({ password: "a brand new secret" })
      .expect(200);
    expect(await authDecision(ctx, dev1)).toEqual({ result: "deny" });
    expect((await authDecision(ctx, { username: "dev1", password: "a brand new secret" })).result).toBe(
      "allow",
    );
  });

  it("denies a deleted client", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect((await authDecision(ctx, dev1)).result).toBe("allow");
    await request(ctx.app).delete("/api/v1/clients/dev1").set(bearer).expect(204);
    expect(await authDecision(ctx, dev1)).toEqual({ result: "deny" });
  });
});

describe("POST /mqtt/auth: the shared secret", () => {
  it("answers 401 with the JSON error shape without the secret header", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    for (const encoding of HOOK_ENCODINGS) {
      const res = await callAuthHook(ctx, dev1, encoding, {});
      expect(res.status).toBe(401);
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
      expect(res.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    }
  });

  it("answers 401 with a wrong secret, including one that only shares a prefix", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    for (const wrong of ["wrong-secret", HOOK_SECRET.slice(0, -1), `${HOOK_SECRET}x`, ""]) {
      const res = await callAuthHook(ctx, dev1, "json", { [SECRET_HEADER]: wrong });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
      expect(res.text).not.toContain(HOOK_SECRET);
    }
  });
});

describe("POST /mqtt/auth: malformed requests", () => {
  it("refuses an unsupported content type with a 4xx", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    const res = await request(ctx.app)
      .post("/mqtt/auth")
      .set(hookHeaders)
      .set("content-type", "text/plain")
      .send("username=dev1&password=correct horse battery");
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe("unsupported_media_type");
  });

  it("answers 400 for a non-string field", async () => {
    const res = await request(ctx.app)
      .post("/mqtt/auth")
      .set(hookHeaders)
      .send({ username: 5, password: PASSWORD });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "invalid_request", details: [{ path: "username" }] });
  });

  it("answers 400 for invalid JSON", async () => {
    const res = await request(ctx.app)
      .post("/mqtt/auth")
      .set(hookHeaders)
      .set("content-type", "application/json")
      .send('{"username": "dev1",');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_json");
  });

  it("answers 400 for a repeated query parameter", async () => {
    const res = await request(ctx.app).get("/mqtt/auth?username=a&username=b&password=x").set(hookHeaders);
    expect(res.status).toBe(400);
  });
});

describe("POST /mqtt/auth: bookkeeping", () => {
  it("records last_login_at and the peer host of a successful login", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    expect((await ctx.services.store.findClient("dev1"))?.lastLoginAt).toBeNull();
    await authDecision(ctx, { ...dev1, peerhost: "192.0.2.7" });
    await vi.waitFor(async () => {
      const client = await ctx.services.store.findClient("dev1");
      expect(client?.lastLoginAt).not.toBeNull();
      expect(client?.lastLoginPeerhost).toBe("192.0.2.7");
    });
  });

  it("does not record a login for a denied attempt", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    await authDecision(ctx, { username: "dev1", password: "wrong password" });
    // Logins are written in order, in batches: once a later login is stored, the deny had its chance.
    await provision(ctx, { username: "dev2", password: PASSWORD });
    await authDecision(ctx, { username: "dev2", password: PASSWORD });
    await vi.waitFor(async () =>
      expect((await ctx.services.store.findClient("dev2"))?.lastLoginAt).not.toBeNull(),
    );
    expect((await ctx.services.store.findClient("dev1"))?.lastLoginAt).toBeNull();
  });

  it("rehashes a password stored below the configured argon2 profile after a successful login", async () => {
    const stronger = await createTestContext({
      MQTT_AUTHD_ARGON2_MEMORY_KIB: "2048",
      MQTT_AUTHD_ARGON2_TIME_COST: "2",
    });
    try {
      await provision(stronger, { username: "dev1", password: PASSWORD });
      const current = (await stronger.services.store.findClient("dev1"))!.passwordHash;
      const weak = await argon2.hash(PASSWORD, {
        type: argon2.argon2id,
        memoryCost: 1024,
        timeCost: 1,
        parallelism: 1,
      });
      expect(
        await stronger.services.store.replacePasswordHash("dev1", current, {
          hash: weak,
          format: "argon2id",
          origin: "chosen",
        }),
      ).toBe(true);
      expect((await authDecision(stronger, dev1)).result).toBe("allow");
      await vi.waitFor(async () => {
        const hash = (await stronger.services.store.findClient("dev1"))!.passwordHash;
        expect(argon2Params(hash)).toEqual({ m: 2048, t: 2, p: 1 });
      });
      expect((await authDecision(stronger, dev1)).result).toBe("allow");
    } finally {
      await stronger.close();
    }
  });

  it("never writes the password or the hook secret to the log", async () => {
    await provision(ctx, { username: "dev1", password: PASSWORD });
    for (const encoding of HOOK_ENCODINGS) {
      await authDecision(ctx, dev1, encoding);
      await authDecision(ctx, { username: "dev1", password: "wrong password" }, encoding);
    }
    const logs = ctx.logs.join("");
    expect(logs).toContain("authn deny");
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain("wrong password");
    expect(logs).not.toContain(HOOK_SECRET);
  });
});
