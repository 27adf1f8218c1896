// biome-ignore-all lint/suspicious/noTemplateCurlyInString: rule topics carry ${username} placeholders literally
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { openServices, type Services } from "../../src/service.js";
import { mosquittoPbkdf2 } from "../fixtures/hashes.js";
import { provision } from "../helpers/api.js";
import {
  bearer,
  createTestContext,
  dbTarget,
  FAST_ARGON2_ENV,
  type TestContext,
} from "../helpers/context.js";
import { createPgDatabase, type PgTestDatabase } from "../helpers/pg.js";
import { childEnv, runCli } from "../helpers/processes.js";

/**
 * `mqtt-authd copy`: an SQLite database, in service, moved whole into an empty PostgreSQL one — the
 * step from one node to replicas. What a fleet relies on must come across unchanged: every client
 * logs in with the password it has, with the same ACL answers, tokens, lockouts and audit history.
 */

let ctx: TestContext;
let target: PgTestDatabase;

beforeEach(async () => {
  ctx = await createTestContext(); // SQLite: test/cli runs in the sqlite project only
  target = await createPgDatabase();
});
afterEach(async () => {
  await ctx.close();
  await target.drop();
});

async function openOn(url: string): Promise<Services> {
  return openServices(loadConfig({ MQTT_AUTHD_DB: url, ...FAST_ARGON2_ENV }), createLogger("silent"));
}

const decide = async (s: Services, username: string, password: string, peerhost = "10.0.0.1") =>
  (await s.authenticate({ username, password, clientid: "c1", peerhost })).result;

const may = async (s: Services, username: string, topic: string) =>
  (await s.authorize({ username, clientid: "c1", action: "publish", topic, qos: 0, retain: false })).result;

/** A database with a bit of everything an admin would have after a while. */
async function populate(): Promise<{ generated: string; chosen: string; imported: string }> {
  const generated = (await provision(ctx, { username: "gen-1" })).password!;
  await provision(ctx, { username: "chosen-1", password: "correct horse battery" });
  await provision(ctx, { username: "disabled-1", password: "correct horse battery", enabled: false });
  await provision(ctx, { username: "bound-1", password: "correct horse battery", client_id: "only-me" });
  const legacy = mosquittoPbkdf2("imported secret", randomBytes(12));
  const imported = await ctx.services.imports.importFile(
    {
      format: "mosquitto-passwd",
      text: `legacy-1:${legacy}\n`,
      options: { dryRun: false, conflict: "skip", allOrNothing: true },
    },
    "test:copy",
  );
  expect(imported.created).toBe(1);
  const role = await request(ctx.app)
    .post("/api/v1/roles")
    .set(bearer)
    .send({
      name: "sensor",
      rules: [{ permission: "allow", action: "publish", topic: "sensors/${username}/#" }],
    });
  expect(role.status, role.text).toBe(201);
  const acl = await request(ctx.app)
    .put("/api/v1/clients/gen-1/acl")
    .set(bearer)
    .send({
      roles: ["sensor"],
      rules: [{ permission: "deny", action: "publish", topic: "sensors/gen-1/secret" }],
    });
  expect(acl.status, acl.text).toBe(200);
  for (let i = 0; i < 5; i++) await decide(ctx.services, "chosen-1", `wrong-${i}`, "203.0.113.7");
  await ctx.services.events.flush();
  return { generated, chosen: "correct horse battery", imported: "imported secret" };
}

describe("mqtt-authd copy", () => {
  it("moves everything into PostgreSQL while the source keeps serving; every client logs in as before", async () => {
    const pw = await populate();
    const run = await runCli(
      ["copy"],
      childEnv({ MQTT_AUTHD_DB: dbTarget(ctx.config), MQTT_AUTHD_COPY_TO: target.url }),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^mqtt_clients\t5$/m);
    expect(run.stdout).toMatch(/^acl_rules\t2$/m);
    expect(run.stdout + run.stderr).not.toContain(new URL(target.url).password);

    const pg = await openOn(target.url);
    try {
      const s = ctx.services;
      // The same rows, field for field (times to the millisecond).
      expect(await pg.store.listClients({ limit: 100 })).toEqual(await s.store.listClients({ limit: 100 }));
      expect(await pg.store.listRoles()).toEqual(await s.store.listRoles());
      expect(await pg.store.findClientAcl("gen-1")).toEqual(await s.store.findClientAcl("gen-1"));
      expect(await pg.store.listTokens()).toEqual(await s.store.listTokens());
      expect(await pg.store.listLockouts({})).toEqual(await s.store.listLockouts({}));
      expect(await pg.store.listFailures({ limit: 100 })).toEqual(await s.store.listFailures({ limit: 100 }));
      const audit = await pg.store.listAudit({ limit: 1000 });
      expect(audit[0]).toMatchObject({ action: "database.copy", actor: expect.stringMatching(/^cli:/) });
      expect(audit.slice(1)).toEqual(await s.store.listAudit({ limit: 1000 }));

      const cases: [string, string, string][] = [
        ["gen-1", pw.generated, "allow"],
        ["chosen-1", pw.chosen, "allow"],
        ["legacy-1", pw.imported, "allow"],
        ["legacy-1", "imported secreT", "deny"],
        ["disabled-1", pw.chosen, "deny"],
        ["bound-1", pw.chosen, "deny"], // bound to another client id
      ];
      for (const [username, password, expected] of cases) {
        expect(await decide(pg, username, password), username).toBe(expected);
      }
      // The lockout came along: the attacker's source is still refused.
      expect(await decide(pg, "chosen-1", pw.chosen, "203.0.113.7")).toBe("deny");
      for (const topic of ["sensors/gen-1/temp", "sensors/gen-1/secret", "sensors/other/temp"]) {
        expect(await may(pg, "gen-1", topic), topic).toBe(await may(ctx.services, "gen-1", topic));
      }
      // New rows get new ids after the copied ones.
      await pg.clients.create({ username: "after-copy" }, "test");
      const ids = (await pg.store.listAudit({ limit: 2 })).map((r) => r.id);
      expect(ids).toHaveLength(2);
      expect(ids[0]!).toBeGreaterThan(ids[1]!);
    } finally {
      await pg.close();
    }
  });

  it("refuses a target that already holds data, and changes nothing there", async () => {
    await populate();
    const env = childEnv({ MQTT_AUTHD_DB: dbTarget(ctx.config), MQTT_AUTHD_COPY_TO: target.url });
    expect((await runCli(["copy"], env)).code).toBe(0);
    const again = await runCli(["copy"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already holds");
    const pg = await openOn(target.url);
    try {
      expect(await pg.store.listClients({ limit: 100 })).toHaveLength(5);
    } finally {
      await pg.close();
    }
  });

  it("takes the URL from a file, and never a password from the command line", async () => {
    const file = join(ctx.dir, "copy-to");
    writeFileSync(file, `${target.url}\n`, { mode: 0o600 });
    const fromFile = await runCli(
      ["copy"],
      childEnv({ MQTT_AUTHD_DB: dbTarget(ctx.config), MQTT_AUTHD_COPY_TO_FILE: file }),
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);

    const password = new URL(target.url).password;
    const inArgv = await runCli(
      ["copy", "--to", target.url],
      childEnv({ MQTT_AUTHD_DB: dbTarget(ctx.config) }),
    );
    expect(inArgv.code).toBe(2);
    expect(inArgv.stderr).toContain("PGPASSWORD");
    expect(inArgv.stdout + inArgv.stderr).not.toContain(password);
  });
});
