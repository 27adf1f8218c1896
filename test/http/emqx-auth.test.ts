import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bearer, createTestContext, hookHeaders, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

async function provision(body: Record<string, unknown>) {
  const res = await request(ctx.app).post("/api/v1/clients").set(bearer).send(body);
  expect(res.status).toBe(201);
  return res.body as { username: string; password?: string };
}

describe("POST /mqtt/auth", () => {
  it("allows a provisioned client with its password, over JSON, form and GET query", async () => {
    await provision({ username: "dev1", password: "correct horse battery" });
    const fields = { username: "dev1", password: "correct horse battery", clientid: "c1", peerhost: "10.0.0.1" };
    const json = await request(ctx.app).post("/mqtt/auth").set(hookHeaders).set("content-type", "application/json").send(JSON.stringify(fields));
    const form = await request(ctx.app).post("/mqtt/auth").set(hookHeaders).type("form").send(fields);
    const get = await request(ctx.app).get("/mqtt/auth").set(hookHeaders).query(fields);
    for (const res of [json, form, get]) {
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
      expect(res.body).toEqual({ result: "allow", is_superuser: false });
    }
  });

  it("denies a wrong password", async () => {
    await provision({ username: "dev1", password: "correct horse battery" });
    const res = await request(ctx.app).post("/mqtt/auth").set(hookHeaders).send({ username: "dev1", password: "nope" });
    expect(res.body).toEqual({ result: "deny" });
  });
});
