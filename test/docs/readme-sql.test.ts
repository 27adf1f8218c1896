// biome-ignore-all lint/suspicious/noTemplateCurlyInString: rule topics carry ${clientid} placeholders literally
import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestContext, hookHeaders, type TestContext } from "../helpers/context.js";

/** The README's ready-made sqlite3 queries run against a seeded database, so they never rot. */

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const section = README.slice(README.indexOf("## The database, for admins"));
const sqlBlock = /```sql\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
const queries = sqlBlock
  .split(/;\s*\n/)
  .map((q) => q.replace(/^--.*$/gm, "").trim())
  .filter((q) => q !== "");

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
  const api = () => request(ctx.app);
  await api()
    .post("/api/v1/roles")
    .set(bearer)
    .send({
      name: "sensor",
      rules: [{ permission: "allow", action: "publish", topic: "sensors/${clientid}/#" }],
    });
  await api()
    .post("/api/v1/clients")
    .set(bearer)
    .send({ username: "s-17", password: "s-17 password", client_id: "s-17" });
  await api()
    .post("/api/v1/clients")
    .set(bearer)
    .send({ username: "old", password: "old password", enabled: false });
  await api()
    .put("/api/v1/clients/s-17/acl")
    .set(bearer)
    .send({ roles: ["sensor"] });
  await api()
    .post("/mqtt/auth")
    .set(hookHeaders)
    .send({ username: "s-17", password: "s-17 password", clientid: "s-17" });
  await api()
    .post("/mqtt/auth")
    .set(hookHeaders)
    .send({ username: "s-17", password: "nope", clientid: "s-17", peerhost: "10.9.9.9" });
  await ctx.services.events.flush();
});
afterAll(() => ctx.close());

describe("README admin queries", () => {
  it("finds the queries in the README", () => {
    expect(queries.length).toBeGreaterThanOrEqual(6);
  });

  it.each(queries.map((q) => [q.split("\n")[0]!, q]))("runs: %s", (_title, sql) => {
    const db = new Database(ctx.config.dbPath, { readonly: true });
    try {
      expect(() => db.prepare(sql).all()).not.toThrow();
    } finally {
      db.close();
    }
  });

  it("answers the questions with the seeded facts", () => {
    const db = new Database(ctx.config.dbPath, { readonly: true });
    try {
      const run = (needle: string) => db.prepare(queries.find((q) => q.includes(needle))!).all();
      expect(run("GROUP BY state")).toEqual(
        expect.arrayContaining([
          { state: "active", "count(*)": 1 },
          { state: "disabled", "count(*)": 1 },
        ]),
      );
      expect(run("FROM effective_acl")).toEqual([
        expect.objectContaining({ source: "role:sensor", topic: "sensors/${clientid}/#" }),
      ]);
      expect(run("FROM login_failures")).toEqual([
        expect.objectContaining({ username: "s-17", peerhost: "10.9.9.9", reason: "bad_password", n: 1 }),
      ]);
      expect(run("hash_format, password_origin")).toEqual([
        { hash_format: "argon2id", password_origin: "chosen", "count(*)": 2 },
      ]);
    } finally {
      db.close();
    }
  });
});
