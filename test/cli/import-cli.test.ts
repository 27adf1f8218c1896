import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseMosquittoPasswd } from "../../src/import/parse/index.js";
import {
  emqxPbkdf2Json,
  emqxSha256Csv,
  goAuthFile,
  MOSQUITTO_ACL,
  MOSQUITTO_ACL_CASES,
} from "../fixtures/import-files.js";
import { generateMosquittoPasswd, skipWithoutMosquittoPasswd } from "../fixtures/mosquitto-passwd.js";
import { withReadonlyDb } from "../helpers/db.js";
import { authenticateAgainst, childEnv, makeTempDir, removeDir, runCli } from "../helpers/processes.js";

let dir: string;
let dbPath: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = makeTempDir();
  dbPath = join(dir, "mqtt-authd.db");
  env = childEnv({ MQTT_AUTHD_DB: dbPath });
});
afterEach(() => removeDir(dir));

const cli = (args: string[]) => runCli(args, env);

function writeInput(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const clientCount = () =>
  withReadonlyDb(
    dbPath,
    (db) => (db.prepare("SELECT count(*) AS n FROM mqtt_clients").get() as { n: number }).n,
  );

const FLEET = [
  { username: "alice", password: "alice's old password" },
  { username: "bob", password: "bob's old password", hashAlgorithm: "sha512" as const },
  { username: "carol", password: "carol's old password", iterations: 1000 },
];

describe.skipIf(skipWithoutMosquittoPasswd)("mqtt-authd import mosquitto-passwd and mosquitto-acl", () => {
  it("imports a password file and an ACL file with one command each; devices log in and get their ACL", async () => {
    const passwd = writeInput("passwd", await generateMosquittoPasswd(FLEET));
    const imported = await cli(["import", "mosquitto-passwd", passwd]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ applied: true, created: 3, failed: [] });
    expect(imported.stderr).toMatch(/^imported: 3 created/m);
    for (const { username, password } of FLEET) {
      expect(await authenticateAgainst(dbPath, username, password)).toBe("allow");
    }

    const acl = await cli(["import", "mosquitto-acl", writeInput("acl", MOSQUITTO_ACL)]);
    expect(acl.code, acl.stderr).toBe(0);
    expect(JSON.parse(acl.stdout)).toMatchObject({ created: 3, failed: [] });
    // A few of the cases: each one is a process start.
    for (const c of [0, 1, 6, 8].map((i) => MOSQUITTO_ACL_CASES[i]!)) {
      const check = await cli(["acl", "check", c.username, c.clientid, c.action, c.topic]);
      expect({ ...c, result: check.code === 0 ? "allow" : "deny" }).toEqual(c);
    }
  });

  it("a bad line: exit 1, the report names it, and nothing is written; --partial applies the good lines", async () => {
    const file = await generateMosquittoPasswd(FLEET);
    const lines = file.trimEnd().split("\n");
    const path = writeInput("passwd", [lines[0], "dave:not-a-hash", lines[1], lines[2], ""].join("\n"));

    const refused = await cli(["import", "mosquitto-passwd", path]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ applied: false, failed: [{ line: 2 }] });
    expect(refused.stderr).toMatch(/nothing written.*--partial/);
    expect(clientCount()).toBe(0);

    const partial = await cli(["import", "mosquitto-passwd", path, "--partial"]);
    expect(partial.code).toBe(1);
    expect(JSON.parse(partial.stdout)).toMatchObject({ applied: true, created: 3, failed: [{ line: 2 }] });
    expect(clientCount()).toBe(3);
  });

  it("--dry-run reports and writes nothing; --conflict overwrite replaces what --conflict skip kept", async () => {
    const path = writeInput("passwd", await generateMosquittoPasswd(FLEET));
    const dry = await cli(["import", "mosquitto-passwd", path, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, applied: false, created: 3 });
    expect(dry.stderr).toMatch(/^dry run, nothing written/m);
    expect(clientCount()).toBe(0);

    await cli(["import", "mosquitto-passwd", path]);
    const changed = writeInput(
      "passwd2",
      await generateMosquittoPasswd([{ username: "alice", password: "new one" }]),
    );
    const skipped = await cli(["import", "mosquitto-passwd", changed]);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ skipped: 1 });
    expect(await authenticateAgainst(dbPath, "alice", FLEET[0]!.password)).toBe("allow");
    const overwritten = await cli(["import", "mosquitto-passwd", changed, "--conflict", "overwrite"]);
    expect(JSON.parse(overwritten.stdout)).toMatchObject({ updated: 1 });
    expect(await authenticateAgainst(dbPath, "alice", "new one")).toBe("allow");
  });

  it("export mosquitto-passwd writes a 0600 file mosquitto can read, and stdout carries the same text", async () => {
    const file = await generateMosquittoPasswd(FLEET);
    await cli(["import", "mosquitto-passwd", writeInput("passwd", file)]);
    const added = await cli(["client", "add", "newcomer", "--generate"]);
    expect(added.code, added.stderr).toBe(0);

    const out = join(dir, "exported");
    const exported = await cli(["export", "mosquitto-passwd", out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(exported.stderr).toMatch(/^skipped newcomer: its argon2id hash cannot be read by mosquitto/m);
    const written = readFileSync(out, "utf8");
    expect(parseMosquittoPasswd(written).records.map((r) => [r.username, r.hash])).toEqual(
      parseMosquittoPasswd(file).records.map((r) => [r.username, r.hash]),
    );

    const toStdout = await cli(["export", "mosquitto-passwd"]);
    expect(toStdout.code).toBe(0);
    expect(`${toStdout.stdout}`).toBe(written);
  });
});

describe("mqtt-authd import emqx-users and go-auth", () => {
  it("reads CSV and JSON by extension, with the authenticator's settings as flags", async () => {
    const csv = writeInput("users.csv", emqxSha256Csv([{ username: "csv-user", password: "csv password" }]));
    const json = writeInput(
      "users.json",
      emqxPbkdf2Json([{ username: "json-user", password: "json password" }]),
    );
    const fromCsv = await cli([
      "import",
      "emqx-users",
      csv,
      "--algorithm",
      "sha256",
      "--salt-position",
      "prefix",
    ]);
    expect(fromCsv.code, fromCsv.stderr).toBe(0);
    const fromJson = await cli([
      "import",
      "emqx-users",
      json,
      "--algorithm",
      "pbkdf2",
      "--mac-fun",
      "sha256",
      "--iterations",
      "1000",
      "--dk-length",
      "32",
    ]);
    expect(fromJson.code, fromJson.stderr).toBe(0);
    expect(await authenticateAgainst(dbPath, "csv-user", "csv password")).toBe("allow");
    expect(await authenticateAgainst(dbPath, "json-user", "json password")).toBe("allow");
  });

  it("imports a go-auth password file", async () => {
    const path = writeInput(
      "go-auth-passwords",
      await goAuthFile(
        { username: "g1", password: "g1 password" },
        { username: "g2", password: "g2 password" },
      ),
    );
    const run = await cli(["import", "go-auth", path, "--salt-encoding", "base64"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await authenticateAgainst(dbPath, "g1", "g1 password")).toBe("allow");
    expect(await authenticateAgainst(dbPath, "g2", "g2 password")).toBe("allow");
  });

  it.each([
    ["emqx-users without --algorithm", ["emqx-users", "users.csv"], /algorithm/],
    [
      "an EMQX flag on a mosquitto file",
      ["mosquitto-passwd", "users.csv", "--algorithm", "md5"],
      /algorithm/,
    ],
    [
      "pbkdf2 without --iterations",
      ["emqx-users", "users.csv", "--algorithm", "pbkdf2", "--mac-fun", "sha256"],
      /iterations/,
    ],
    ["an unknown format", ["htpasswd", "users.csv"], /format/],
    ["a file that cannot be read", ["mosquitto-passwd", "missing.txt"], /cannot read/],
    ["no file", ["mosquitto-passwd"], /usage/],
  ])("exits 2 for %s", async (_name, args, message) => {
    writeInput("users.csv", "user_id,password_hash,salt,is_superuser\n");
    const run = await runCli(["import", ...args.map((a) => (a.includes(".") ? join(dir, a) : a))], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
  });
});
