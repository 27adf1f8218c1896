import bcrypt from "bcrypt";
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  emqxPbkdf2Json,
  emqxSha256Csv,
  MOSQUITTO_USERS,
  mosquittoPasswdFile,
} from "../fixtures/import-files.js";
import { skipWithoutMosquittoPasswd } from "../fixtures/mosquitto-passwd.js";
import { authDecision } from "../helpers/api.js";
import { bearer, createTestContext, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const postImport = (body: unknown, headers: Record<string, string> = bearer) =>
  request(ctx.app)
    .post("/api/v1/import")
    .set(headers)
    .send(body as object);

describe("POST /api/v1/import", () => {
  it.skipIf(skipWithoutMosquittoPasswd)(
    "imports a mosquitto_passwd file; each device logs in with its old password and is upgraded",
    async () => {
      const res = await postImport({
        format: "mosquitto-passwd",
        content: await mosquittoPasswdFile(),
        file_name: "passwd",
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({
        format: "mosquitto-passwd",
        dry_run: false,
        applied: true,
        total: 3,
        created: 3,
        updated: 0,
        unchanged: 0,
        skipped: 0,
        failed: [],
        notes: [expect.stringMatching(/single-round digest/)],
      });
      for (const { username, password } of MOSQUITTO_USERS) {
        expect((await authDecision(ctx, { username, password })).result).toBe("allow");
        await vi.waitFor(async () =>
          expect((await ctx.services.store.findClient(username))?.hashFormat).toBe("argon2id"),
        );
        expect((await authDecision(ctx, { username, password })).result).toBe("allow");
      }
      const audit = (await ctx.db.auditRows()).filter((r) => r.action === "import.mosquitto-passwd");
      expect(audit).toMatchObject([{ actor: "token:configured" }]);
    },
  );

  it("answers 200 with the report for a dry run on a file with bad lines, naming each, and writes nothing", async () => {
    const hash = await bcrypt.hash("a password", 4);
    const res = await postImport({
      format: "go-auth",
      content: `ok:${hash}\nno-colon\ntwo:colons:${hash}\nalso-ok:${hash}\n`,
      dry_run: true,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ dry_run: true, applied: false, created: 2, total: 4 });
    expect(res.body.failed.map((f: { line: number }) => f.line)).toEqual([2, 3]);
    expect(await ctx.services.store.findClient("ok")).toBeNull();
  });

  it("takes the EMQX authenticator's settings as fields and guesses CSV or JSON from the content", async () => {
    const csv = await postImport({
      format: "emqx-users",
      content: emqxSha256Csv([{ username: "csv-user", password: "csv password" }]),
      algorithm: "sha256",
      salt_position: "prefix",
    });
    const json = await postImport({
      format: "emqx-users",
      content: emqxPbkdf2Json([{ username: "json-user", password: "json password" }]),
      algorithm: "pbkdf2",
      mac_fun: "sha256",
      iterations: 1000,
      dk_length: 32,
    });
    expect([csv.status, json.status]).toEqual([200, 200]);
    expect([csv.body.created, json.body.created]).toEqual([1, 1]);
    expect((await authDecision(ctx, { username: "csv-user", password: "csv password" })).result).toBe(
      "allow",
    );
    expect((await authDecision(ctx, { username: "json-user", password: "json password" })).result).toBe(
      "allow",
    );
  });

  it("accepts a file far above the 64 kB limit of the other API bodies", async () => {
    const hash = await bcrypt.hash("a password", 4);
    const content = Array.from({ length: 2000 }, (_, i) => `device-${i}:${hash}\n`).join("");
    expect(content.length).toBeGreaterThan(100_000);
    const res = await postImport({ format: "go-auth", content, dry_run: true });
    expect(res.status, res.text).toBe(200);
    expect(res.body.created).toBe(2000);

    const other = await request(ctx.app)
      .post("/api/v1/clients")
      .set(bearer)
      .send({ username: "x", description: "d".repeat(100_000) });
    expect(other.status).toBe(413);
  });

  it.each([
    ["an unknown format", { format: "htpasswd", content: "" }, "format"],
    ["EMQX users without the algorithm", { format: "emqx-users", content: "" }, "algorithm"],
    [
      "pbkdf2 without iterations",
      { format: "emqx-users", content: "", algorithm: "pbkdf2", mac_fun: "sha256" },
      "iterations",
    ],
    [
      "pbkdf2 settings for another algorithm",
      { format: "emqx-users", content: "", algorithm: "sha256", iterations: 5 },
      "iterations",
    ],
    [
      "EMQX settings on a mosquitto file",
      { format: "mosquitto-passwd", content: "", algorithm: "sha256" },
      "",
    ],
    [
      "an unknown conflict policy",
      { format: "mosquitto-passwd", content: "", conflict: "merge" },
      "conflict",
    ],
    ["content that is not text", { format: "mosquitto-passwd", content: 5 }, "content"],
  ])("answers 400 for %s", async (_name, body, path) => {
    const res = await postImport(body);
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it("needs an admin token: 401 without one, 403 with a read token", async () => {
    const body = { format: "mosquitto-passwd", content: "" };
    expect((await postImport(body, {})).status).toBe(401);
    const readToken = await ctx.services.tokens.create("reader", "read", "test");
    expect((await postImport(body, { authorization: `Bearer ${readToken}` })).status).toBe(403);
  });
});
