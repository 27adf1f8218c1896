// biome-ignore-all lint/suspicious/noTemplateCurlyInString: rule topics carry ${clientid} placeholders literally
import { readFileSync } from "node:fs";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestContext, hookHeaders, TEST_STORE, type TestContext } from "../helpers/context.js";

/**
 * The README's ready-made queries run against a seeded database, so they never rot: the sqlite3 block
 * on SQLite, the psql block on PostgreSQL (the postgres project runs this file again).
 */

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const section = README.slice(README.indexOf("## The database, for admins"), README.indexOf("## Security"));
const blocks = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
const sqlBlock = (TEST_STORE === "postgres" ? blocks[1] : blocks[0]) ?? "";
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

  it("has one block per store, asking the same questions", () => {
    expect(blocks).toHaveLength(2);
    const questions = (b: string) => b.split("\n").filter((l) => l.startsWith("--"));
    expect(questions(blocks[1]!)).toEqual(questions(blocks[0]!));
  });

  it.each(queries.map((q) => [q.split("\n")[0]!, q]))("runs: %s", async (_title, sql) => {
    await expect(ctx.db.query(sql)).resolves.toBeInstanceOf(Array);
  });

  it("answers the questions with the seeded facts", async () => {
    const run = (needle: string) => ctx.db.query(queries.find((q) => q.includes(needle))!);
    expect(await run("GROUP BY state")).toEqual(
      expect.arrayContaining([
        { state: "active", clients: 1 },
        { state: "disabled", clients: 1 },
      ]),
    );
    expect(await run("FROM effective_acl")).toEqual([
      expect.objectContaining({ source: "role:sensor", topic: "sensors/${clientid}/#" }),
    ]);
    expect(await run("FROM login_failures")).toEqual([
      expect.objectContaining({ username: "s-17", peerhost: "10.9.9.9", reason: "bad_password", n: 1 }),
    ]);
    expect(await run("hash_format, password_origin")).toEqual([
      { hash_format: "argon2id", password_origin: "chosen", clients: 2 },
    ]);
    expect(await run("FROM audit_log")).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: "client.create", target: "s-17" })]),
    );
  });
});
