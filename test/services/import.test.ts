import bcrypt from "bcrypt";
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseMosquittoPasswd } from "../../src/import/parse/index.js";
import { argon2Params } from "../../src/passwords/formats/index.js";
import { exportMosquittoPasswd } from "../../src/services/export.js";
import type { ImportOptions, ImportReport, ImportRequest } from "../../src/services/import.js";
import {
  type Credential,
  emqxBcryptJson,
  emqxPbkdf2Json,
  emqxPlainCsv,
  emqxSha256Csv,
  goAuthFile,
  MOSQUITTO_ACL,
  MOSQUITTO_ACL_CASES,
  MOSQUITTO_USERS,
  mosquittoPasswdFile,
} from "../fixtures/import-files.js";
import { skipWithoutMosquittoPasswd } from "../fixtures/mosquitto-passwd.js";
import { authDecision, provision } from "../helpers/api.js";
import { bearer, createTestContext, hookHeaders, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const ACTOR = "test:importer";

const options = (o: Partial<ImportOptions> = {}): ImportOptions => ({
  conflict: "skip",
  dryRun: false,
  allOrNothing: true,
  ...o,
});

const importMosquitto = (text: string, o: Partial<ImportOptions> = {}) =>
  ctx.services.imports.importFile({ format: "mosquitto-passwd", text, options: options(o) }, ACTOR);

const importAcl = (text: string, o: Partial<ImportOptions> = {}) =>
  ctx.services.imports.importFile({ format: "mosquitto-acl", text, options: options(o) }, ACTOR);

const login = async (username: string, password: string) =>
  (await authDecision(ctx, { username, password })).result;

const findClient = (username: string) => ctx.services.store.findClient(username);

/** Logs in with the original password, waits for the background upgrade, then logs in again. */
async function expectLoginUpgradesAndLogsInAgain({ username, password }: Credential): Promise<void> {
  const before = await findClient(username);
  expect(before?.hashFormat).not.toBe("argon2id");
  expect(await login(username, password)).toBe("allow");
  await vi.waitFor(async () => {
    const after = await findClient(username);
    expect(after?.hashFormat).toBe("argon2id");
  });
  const after = (await findClient(username))!;
  expect(after.passwordOrigin).toBe("imported");
  // Imported passwords get the full profile (FAST_ARGON2_ENV sets it to m=1024, t=1 in tests).
  expect(argon2Params(after.passwordHash)).toMatchObject({ m: 1024, t: 1 });
  expect(await login(username, password)).toBe("allow");
  expect(await login(username, `${password}x`)).toBe("deny");
}

const clientCount = async () =>
  (await ctx.db.query<{ n: number }>("SELECT count(*) AS n FROM mqtt_clients"))[0]!.n;

const importAudit = async () => (await ctx.db.auditRows()).filter((r) => r.action.startsWith("import."));

function expectTotals(report: ImportReport): void {
  expect(report.total).toBe(
    report.created + report.updated + report.unchanged + report.skipped + report.failed.length,
  );
}

describe.skipIf(skipWithoutMosquittoPasswd)("importing a file written by Debian's mosquitto_passwd", () => {
  it("creates every client, each logs in with its old password, is upgraded to argon2id and logs in again", async () => {
    const file = await mosquittoPasswdFile();
    const report = await importMosquitto(file);
    expect(report).toMatchObject({ applied: true, total: 3, created: 3, failed: [] });
    expect((await findClient("sensor-default"))?.hashFormat).toBe("mosquitto-pbkdf2-sha512");
    expect((await findClient("sensor-sha512"))?.hashFormat).toBe("mosquitto-sha512");
    expect((await findClient("sensor-iter"))?.passwordHash).toMatch(/^\$7\$1000\$/);
    for (const user of MOSQUITTO_USERS) await expectLoginUpgradesAndLogsInAgain(user);
  });

  it("writes one audit row per import, with the counts and file name and no hash", async () => {
    const file = await mosquittoPasswdFile();
    await ctx.services.imports.importFile(
      { format: "mosquitto-passwd", text: file, options: options({ fileName: "passwd" }) },
      ACTOR,
    );
    const rows = await importAudit();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: ACTOR, action: "import.mosquitto-passwd", target: null });
    expect(JSON.parse(rows[0]!.details)).toMatchObject({ file: "passwd", created: 3, failed: 0 });
    for (const { hash } of parseMosquittoPasswd(file).records) {
      expect(JSON.stringify(await ctx.db.auditRows())).not.toContain(hash.split("$").at(-1));
    }
  });

  it("is idempotent: the same file again reports every client unchanged and changes nothing", async () => {
    const file = await mosquittoPasswdFile();
    await importMosquitto(file);
    const before = await ctx.db.dumpAllTables();
    for (const conflict of ["skip", "overwrite"] as const) {
      const again = await importMosquitto(file, { conflict });
      expect(again).toMatchObject({ applied: true, created: 0, updated: 0, unchanged: 3, skipped: 0 });
    }
    expect(await ctx.db.dumpAllTables()).toBe(before);
    expect(await importAudit()).toHaveLength(1);
  });

  it("exports what mosquitto can read, byte for byte, and lists the clients it cannot", async () => {
    const file = await mosquittoPasswdFile();
    await importMosquitto(file);
    await provision(ctx, { username: "api-made", password: "an argon2id password" });
    const exported = await exportMosquittoPasswd(ctx.services.store);
    const original = new Map(parseMosquittoPasswd(file).records.map((r) => [r.username, r.hash]));
    const roundTrip = parseMosquittoPasswd(exported.text);
    expect(roundTrip.errors).toEqual([]);
    expect(new Map(roundTrip.records.map((r) => [r.username, r.hash]))).toEqual(original);
    expect(exported.skipped).toEqual([{ username: "api-made", reason: expect.stringMatching(/argon2id/) }]);
  });
});

describe("importing bcrypt, PBKDF2 and EMQX hashes", () => {
  it("go-auth: PBKDF2 and bcrypt clients log in, are upgraded, and log in again", async () => {
    const pbkdf2User = { username: "go-pbkdf2", password: "go pbkdf2 password" };
    const bcryptUser = { username: "go-bcrypt", password: "go bcrypt password" };
    const report = await ctx.services.imports.importFile(
      {
        format: "go-auth",
        text: await goAuthFile(pbkdf2User, bcryptUser),
        options: options(),
        saltEncoding: "base64",
      },
      ACTOR,
    );
    expect(report).toMatchObject({ applied: true, created: 2, failed: [] });
    expect((await findClient("go-pbkdf2"))?.hashFormat).toBe("go-auth-pbkdf2");
    expect((await findClient("go-bcrypt"))?.hashFormat).toBe("bcrypt");
    await expectLoginUpgradesAndLogsInAgain(pbkdf2User);
    await expectLoginUpgradesAndLogsInAgain(bcryptUser);
  });

  it("EMQX CSV (sha256, prefix salt): superusers keep the flag, every client logs in and is upgraded", async () => {
    const users = [
      { username: "emqx-admin", password: "emqx admin password", isSuperuser: true },
      { username: "emqx-dev", password: "emqx device password" },
    ];
    const report = await ctx.services.imports.importFile(
      {
        format: "emqx-users",
        text: emqxSha256Csv(users),
        options: options(),
        emqx: { format: "csv", algorithm: "sha256", saltPosition: "prefix" },
      },
      ACTOR,
    );
    expect(report).toMatchObject({ applied: true, created: 2, failed: [] });
    expect(report.notes.join(" ")).toMatch(/single-round digest/);
    expect(await findClient("emqx-admin")).toMatchObject({ isSuperuser: true, hashFormat: "emqx-sha256" });
    expect((await findClient("emqx-dev"))?.isSuperuser).toBe(false);
    for (const user of users) await expectLoginUpgradesAndLogsInAgain(user);
  });

  it("EMQX JSON with pbkdf2 and with bcrypt: every client logs in and is upgraded", async () => {
    const pbkdf2User = { username: "emqx-pbkdf2", password: "emqx pbkdf2 password" };
    const bcryptUser = { username: "emqx-bcrypt", password: "emqx bcrypt password" };
    const pbkdf2 = await ctx.services.imports.importFile(
      {
        format: "emqx-users",
        text: emqxPbkdf2Json([pbkdf2User]),
        options: options(),
        emqx: {
          format: "json",
          algorithm: "pbkdf2",
          saltPosition: "disable",
          pbkdf2: { macFun: "sha256", iterations: 1000, dkLength: 32 },
        },
      },
      ACTOR,
    );
    const bcrypted = await ctx.services.imports.importFile(
      {
        format: "emqx-users",
        text: await emqxBcryptJson([bcryptUser]),
        options: options(),
        emqx: { format: "json", algorithm: "bcrypt", saltPosition: "disable" },
      },
      ACTOR,
    );
    expect([pbkdf2.created, bcrypted.created]).toEqual([1, 1]);
    await expectLoginUpgradesAndLogsInAgain(pbkdf2User);
    await expectLoginUpgradesAndLogsInAgain(bcryptUser);
  });

  it("EMQX clear text is stored only as argon2id (origin imported), and a re-run under overwrite is a no-op", async () => {
    const user = { username: "emqx-plain", password: "clear text password" };
    const request: ImportRequest = {
      format: "emqx-users",
      text: emqxPlainCsv([user]),
      options: options({ conflict: "overwrite" }),
      emqx: { format: "csv", algorithm: "plain", saltPosition: "disable" },
    };
    expect(await ctx.services.imports.importFile(request, ACTOR)).toMatchObject({ created: 1 });
    const stored = (await findClient(user.username))!;
    expect(stored).toMatchObject({ hashFormat: "argon2id", passwordOrigin: "imported" });
    expect(await ctx.db.dumpAllTables()).not.toContain(user.password);
    expect(await login(user.username, user.password)).toBe("allow");

    const dryRun = { ...request, options: options({ conflict: "overwrite", dryRun: true }) };
    expect(await ctx.services.imports.importFile(dryRun, ACTOR)).toMatchObject({ updated: 0, unchanged: 1 });
    const again = await ctx.services.imports.importFile(request, ACTOR);
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 1 });
    expect((await findClient(user.username))?.passwordHash).toBe(stored.passwordHash);
  });

  it("a dry run of clear text hashes nothing and stores nothing", async () => {
    const report = await ctx.services.imports.importFile(
      {
        format: "emqx-users",
        text: emqxPlainCsv([{ username: "p1", password: "clear text password" }]),
        options: options({ dryRun: true }),
        emqx: { format: "csv", algorithm: "plain", saltPosition: "disable" },
      },
      ACTOR,
    );
    expect(report).toMatchObject({ dry_run: true, applied: false, created: 1 });
    expect(await findClient("p1")).toBeNull();
  });
});

const GOOD_AND_BAD = async () => {
  const file = await mosquittoPasswdFile();
  const lines = file.trimEnd().split("\n");
  // Line 2 has no hash, line 4 a malformed one; lines 1, 3 and 5 are good.
  return [lines[0], "no-hash-user:", lines[1], "broken:$7$101$notbase64$x", lines[2], ""].join("\n");
};

describe.skipIf(skipWithoutMosquittoPasswd)("a file with bad lines", () => {
  it("a dry run names each bad line and writes nothing at all", async () => {
    const before = await ctx.db.dumpAllTables();
    const report = await importMosquitto(await GOOD_AND_BAD(), { dryRun: true });
    expect(report).toMatchObject({ dry_run: true, applied: false, created: 3, total: 5 });
    expect(report.failed.map((f) => f.line)).toEqual([2, 4]);
    expect(report.failed[0]?.reason).toMatch(/no hash/);
    expect(await ctx.db.dumpAllTables()).toBe(before);
    expectTotals(report);
  });

  it("all or nothing (the default): nothing is imported, and the report still lists each bad line", async () => {
    const report = await importMosquitto(await GOOD_AND_BAD());
    expect(report).toMatchObject({ dry_run: false, applied: false });
    expect(report.failed.map((f) => f.line)).toEqual([2, 4]);
    expect(await clientCount()).toBe(0);
    expect(await importAudit()).toEqual([]);
  });

  it("with all-or-nothing off, the good lines are imported and the bad ones reported", async () => {
    const report = await importMosquitto(await GOOD_AND_BAD(), { allOrNothing: false });
    expect(report).toMatchObject({ applied: true, created: 3 });
    expect(report.failed.map((f) => f.line)).toEqual([2, 4]);
    expect(await clientCount()).toBe(3);
    expect(JSON.parse((await importAudit())[0]!.details)).toMatchObject({ created: 3, failed: 2 });
  });

  it("refuses usernames mqtt-authd would not accept, by line", async () => {
    const hash = await bcrypt.hash("some password", 4);
    const report = await ctx.services.imports.importFile(
      {
        format: "go-auth",
        text: `good:${hash}\nbad\u0001name:${hash}\n${"x".repeat(300)}:${hash}\n`,
        options: options({ dryRun: true }),
        saltEncoding: "base64",
      },
      ACTOR,
    );
    expect(report).toMatchObject({ created: 1 });
    expect(report.failed).toEqual([
      { line: 2, reason: "invalid username: must not contain control characters" },
      { line: 3, reason: "invalid username: must be at most 256 characters" },
    ]);
  });
});

describe.skipIf(skipWithoutMosquittoPasswd)("conflicts with existing clients", () => {
  const OLD = "password the admin set";

  it("skip (the default) keeps an existing client's password; overwrite replaces it with the file's", async () => {
    await provision(ctx, { username: "sensor-default", password: OLD });
    const file = await mosquittoPasswdFile();
    const fileHash = parseMosquittoPasswd(file).records.find((r) => r.username === "sensor-default")!.hash;

    const skipped = await importMosquitto(file);
    expect(skipped).toMatchObject({ created: 2, skipped: 1, updated: 0 });
    expect(await login("sensor-default", OLD)).toBe("allow");

    const overwritten = await importMosquitto(file, { conflict: "overwrite" });
    expect(overwritten).toMatchObject({ created: 0, updated: 1, unchanged: 2 });
    expect(await findClient("sensor-default")).toMatchObject({
      passwordHash: fileHash,
      hashFormat: "mosquitto-pbkdf2-sha512",
      passwordOrigin: "imported",
    });
    expect(await login("sensor-default", OLD)).toBe("deny");
    expect(await login("sensor-default", MOSQUITTO_USERS[0]!.password)).toBe("allow");
  });

  it("overwrite sets the superuser flag from an EMQX file but never deletes clients the file does not name", async () => {
    await provision(ctx, { username: "keep-me", password: OLD });
    await provision(ctx, { username: "emqx-dev", password: OLD });
    const report = await ctx.services.imports.importFile(
      {
        format: "emqx-users",
        text: emqxSha256Csv([{ username: "emqx-dev", password: "new", isSuperuser: true }]),
        options: options({ conflict: "overwrite" }),
        emqx: { format: "csv", algorithm: "sha256", saltPosition: "prefix" },
      },
      ACTOR,
    );
    expect(report).toMatchObject({ updated: 1 });
    expect(await findClient("emqx-dev")).toMatchObject({ isSuperuser: true, hashFormat: "emqx-sha256" });
    expect(await findClient("keep-me")).not.toBeNull();
  });

  it("the upgrade never overwrites a password an admin rotated after the login verified the old one", async () => {
    const file = await mosquittoPasswdFile();
    await importMosquitto(file);
    const imported = (await findClient("sensor-default"))!;
    // The admin rotates between the verify (against `imported`) and the background upgrade.
    await request(ctx.app)
      .post("/api/v1/clients/sensor-default/password")
      .set(bearer)
      .send({ password: OLD })
      .expect(200);
    const rotated = (await findClient("sensor-default"))!;
    const upgrade = await ctx.services.passwords.hash(MOSQUITTO_USERS[0]!.password, "imported");
    expect(
      await ctx.services.store.replacePasswordHash("sensor-default", imported.passwordHash, upgrade),
    ).toBe(false);
    expect(await findClient("sensor-default")).toEqual(rotated);
    expect(await login("sensor-default", OLD)).toBe("allow");
    expect(await login("sensor-default", MOSQUITTO_USERS[0]!.password)).toBe("deny");
  });

  it("admins count clients per hash format in SQL, and in the hash_formats_in_use view", async () => {
    await importMosquitto(await mosquittoPasswdFile());
    await provision(ctx, { username: "api-made", password: OLD });
    const grouped = {
      raw: await ctx.db.query("SELECT hash_format, count(*) AS n FROM mqtt_clients GROUP BY 1 ORDER BY 1"),
      view: await ctx.db.query("SELECT * FROM hash_formats_in_use ORDER BY hash_format"),
    };
    expect(grouped.raw).toEqual([
      { hash_format: "argon2id", n: 1 },
      { hash_format: "mosquitto-pbkdf2-sha512", n: 2 },
      { hash_format: "mosquitto-sha512", n: 1 },
    ]);
    expect(grouped.view).toEqual([
      { hash_format: "argon2id", clients: 1, never_logged_in: 1, imported: 0 },
      { hash_format: "mosquitto-pbkdf2-sha512", clients: 2, never_logged_in: 2, imported: 2 },
      { hash_format: "mosquitto-sha512", clients: 1, never_logged_in: 1, imported: 1 },
    ]);
  });
});

describe("importing a mosquitto acl_file", () => {
  const PASSWORD = "correct horse battery";

  async function aclDecision(c: (typeof MOSQUITTO_ACL_CASES)[number]): Promise<string> {
    const res = await request(ctx.app).post("/mqtt/acl").set(hookHeaders).send({
      username: c.username,
      clientid: c.clientid,
      topic: c.topic,
      action: c.action,
      peerhost: "10.0.0.1",
    });
    expect(res.status, res.text).toBe(200);
    return res.body.result as string;
  }

  it("/mqtt/acl then decides as mosquitto did: own rules deny-first, then the patterns, else deny", async () => {
    for (const username of ["alice", "bob", "carol"]) await provision(ctx, { username, password: PASSWORD });
    const report = await importAcl(MOSQUITTO_ACL);
    // alice's and bob's rule lists, and the mosquitto-patterns role.
    expect(report).toMatchObject({ applied: true, created: 3, failed: [] });
    expect(report.notes.join("\n")).toMatch(/no anonymous clients/);
    expect(await ctx.services.store.findRole("mosquitto-patterns")).toMatchObject({ isDefault: true });
    for (const c of MOSQUITTO_ACL_CASES) expect({ ...c, result: await aclDecision(c) }).toEqual(c);

    expect(await importAcl(MOSQUITTO_ACL)).toMatchObject({ created: 0, unchanged: 3 });
    expect(await importAudit()).toHaveLength(1);
  });

  it("users that are not clients fail by line; all or nothing writes none of the file", async () => {
    await provision(ctx, { username: "alice", password: PASSWORD });
    const report = await importAcl(MOSQUITTO_ACL);
    expect(report).toMatchObject({ applied: false });
    expect(report.failed).toEqual([
      { line: 7, reason: 'no such client "bob"; import the password file first' },
    ]);
    expect(await ctx.services.store.findRole("mosquitto-patterns")).toBeNull();
    expect((await ctx.services.store.findClientAcl("alice"))?.rules).toEqual([]);

    const partial = await importAcl(MOSQUITTO_ACL, { allOrNothing: false });
    expect(partial).toMatchObject({ applied: true, created: 2 });
    expect(partial.failed.map((f) => f.line)).toEqual([7]);
  });

  it("with the good lines applied, a user whose block has a bad line keeps none of the block", async () => {
    for (const username of ["alice", "bob"]) await provision(ctx, { username, password: PASSWORD });
    // Line 5 (alice's deny) cannot be converted: the rest of alice's block would allow alice/secret.
    const text = MOSQUITTO_ACL.replace("topic deny alice/secret", "topic deny alice/%u-x/#/bad");
    const report = await importAcl(text, { allOrNothing: false });
    expect(report.failed.map((f) => f.line)).toEqual([3, 5]);
    expect(report.failed[0]?.reason).toMatch(/rules of user "alice" are left out: line 5 failed/);
    expect((await ctx.services.store.findClientAcl("alice"))?.rules).toEqual([]);
    expect((await ctx.services.store.findClientAcl("bob"))?.rules).toEqual([
      { permission: "allow", action: "publish", topic: "bob/out" },
    ]);
  });

  it("overwrite replaces a client's own rules; skip keeps rules an admin already set", async () => {
    for (const username of ["alice", "bob"]) await provision(ctx, { username, password: PASSWORD });
    const own = [{ permission: "allow" as const, action: "all" as const, topic: "mine/#" }];
    await ctx.services.acl.replaceClientAcl("alice", { rules: own }, ACTOR);

    expect(await importAcl(MOSQUITTO_ACL)).toMatchObject({ created: 2, skipped: 1 });
    expect((await ctx.services.store.findClientAcl("alice"))?.rules).toEqual(own);

    expect(await importAcl(MOSQUITTO_ACL, { conflict: "overwrite" })).toMatchObject({
      updated: 1,
      unchanged: 2,
    });
    expect((await ctx.services.store.findClientAcl("alice"))?.rules).toEqual([
      { permission: "deny", action: "all", topic: "alice/secret" },
      { permission: "allow", action: "all", topic: "alice/#" },
      { permission: "allow", action: "subscribe", topic: "shared/#" },
    ]);
  });
});
