import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/passwords/secrets.js";
import { dumpAllTables, withReadonlyDb } from "../helpers/db.js";
import {
  authenticateAgainst,
  childEnv,
  makeTempDir,
  processArgsAndEnv,
  processesExposing,
  removeDir,
  runCli,
  spawnCli,
} from "../helpers/processes.js";

let dir: string;
let dbPath: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = makeTempDir();
  dbPath = join(dir, "mqtt-authd.db");
  env = childEnv({ MQTT_AUTHD_DB: dbPath });
});
afterEach(() => removeDir(dir));

const PASSWORD = "correct horse battery";
const GENERATED_LINE = /^password: ([A-Za-z0-9_-]{22,})$/m;

/** Runs the CLI and requires exit code 0. */
async function cli(args: string[], input = "") {
  const run = await runCli(args, env, input);
  expect(run.code, `mqtt-authd ${args.join(" ")}: ${run.stderr}`).toBe(0);
  return run;
}

async function show(username: string): Promise<Record<string, unknown>> {
  return JSON.parse((await cli(["client", "show", username])).stdout) as Record<string, unknown>;
}

describe("mqtt-authd --help, --version and usage errors", () => {
  it("prints help and exits 0 with --help", async () => {
    const run = await cli(["--help"]);
    expect(run.stdout).toContain("Usage: mqtt-authd");
    expect(run.stdout).toContain("--password-stdin");
  });

  it("prints the package version and exits 0 with --version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect((await cli(["--version"])).stdout.trim()).toBe(`mqtt-authd ${pkg.version}`);
  });

  it("exits 2 on an unknown command, naming it", async () => {
    const run = await runCli(["frobnicate"], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("frobnicate");
  });

  it("exits 2 on an unknown subcommand or option", async () => {
    expect((await runCli(["client", "frobnicate", "x"], env)).code).toBe(2);
    expect((await runCli(["token", "frobnicate"], env)).code).toBe(2);
    expect((await runCli(["client", "add", "x", "--no-such-option"], env)).code).toBe(2);
  });

  it("exits 2 without a command, printing the usage", async () => {
    const run = await runCli([], env);
    expect(run.code).toBe(2);
    expect(run.stdout + run.stderr).toContain("Usage");
  });

  it("exits 1 on a bad configuration, naming the variable", async () => {
    const run = await runCli(["client", "list"], { ...env, MQTT_AUTHD_PORT: "abc" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("MQTT_AUTHD_PORT");
  });
});

describe("mqtt-authd migrate", () => {
  it("creates the schema on a fresh database, then reports it up to date", async () => {
    expect((await cli(["migrate"])).stdout).toMatch(/migrated schema 0 → \d+/);
    expect((await cli(["migrate"])).stdout).toMatch(/up to date/);
  });

  it("exits 1 on a file that is not a database, leaving it unchanged", async () => {
    const notADatabase = join(dir, "notes.txt");
    writeFileSync(notADatabase, "these are my notes, not a database\n".repeat(200));
    const run = await runCli(["migrate"], { ...env, MQTT_AUTHD_DB: notADatabase });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(notADatabase);
    expect(readFileSync(notADatabase, "utf8")).toBe("these are my notes, not a database\n".repeat(200));
  });
});

describe("mqtt-authd token", () => {
  it("create prints the token once and stores only its SHA-256", async () => {
    const run = await cli(["token", "create", "ci"]);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const token = lines[0]!;
    expect(token).toMatch(/^mqa_[A-Za-z0-9_-]{40,}$/);
    expect(run.stderr).not.toContain(token);

    const stored = withReadonlyDb(dbPath, (db) =>
      db.prepare("SELECT token_sha256, scope FROM admin_tokens WHERE name = 'ci'").get(),
    );
    expect(stored).toEqual({ token_sha256: sha256Hex(token), scope: "admin" });
    expect(dumpAllTables(dbPath)).not.toContain(token);
    expect(dumpAllTables(dbPath)).not.toContain(token.slice(4));
  });

  it("create refuses an existing name and prints no token", async () => {
    await cli(["token", "create", "ci"]);
    const again = await runCli(["token", "create", "ci"], env);
    expect(again.code).toBe(1);
    expect(again.stdout).not.toMatch(/mqa_/);
  });

  it("create --scope read makes a read-only token", async () => {
    await cli(["token", "create", "viewer", "--scope", "read"]);
    const scope = withReadonlyDb(dbPath, (db) =>
      db.prepare("SELECT scope FROM admin_tokens WHERE name = 'viewer'").pluck().get(),
    );
    expect(scope).toBe("read");
  });

  it("list shows names and scopes, never a token or its hash", async () => {
    const token = (await cli(["token", "create", "ci"])).stdout.trim();
    await cli(["token", "create", "viewer", "--scope", "read"]);
    const list = await cli(["token", "list"]);
    expect(list.stdout).toMatch(/^ci\tadmin\t/m);
    expect(list.stdout).toMatch(/^viewer\tread\t/m);
    expect(list.stdout).not.toContain(token);
    expect(list.stdout).not.toContain(sha256Hex(token));
    const json = JSON.parse((await cli(["token", "list", "--json"])).stdout) as { name: string }[];
    expect(json.map((t) => t.name)).toEqual(["ci", "viewer"]);
  });

  it("revoke marks the token revoked; revoking it again fails", async () => {
    await cli(["token", "create", "ci"]);
    await cli(["token", "revoke", "ci"]);
    const revokedAt = withReadonlyDb(dbPath, (db) =>
      db.prepare("SELECT revoked_at FROM admin_tokens WHERE name = 'ci'").pluck().get(),
    );
    expect(revokedAt).not.toBeNull();
    expect((await runCli(["token", "revoke", "ci"], env)).code).toBe(1);
    expect((await runCli(["token", "revoke", "never-existed"], env)).code).toBe(1);
  });
});

describe("mqtt-authd client", () => {
  it("add --password-stdin takes the password from stdin and never prints it", async () => {
    const run = await cli(["client", "add", "dev1", "--password-stdin"], `${PASSWORD}\n`);
    expect(run.stdout).toContain("created client dev1");
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    expect(await authenticateAgainst(dbPath, "dev1", PASSWORD)).toBe("allow");
    expect(await authenticateAgainst(dbPath, "dev1", `${PASSWORD}\n`)).toBe("deny");
  });

  it("add without a terminal generates a password and prints it once", async () => {
    const run = await cli(["client", "add", "dev1"]);
    const password = GENERATED_LINE.exec(run.stdout)?.[1];
    expect(password).toBeDefined();
    expect(run.stdout.split(password!).length - 1).toBe(1);
    expect(await authenticateAgainst(dbPath, "dev1", password!)).toBe("allow");
    expect((await cli(["client", "show", "dev1"])).stdout).not.toContain(password);
    expect((await cli(["client", "list", "--json"])).stdout).not.toContain(password);
    expect(dumpAllTables(dbPath)).not.toContain(password);
  });

  it("add stores the options it is given", async () => {
    await cli(
      [
        "client",
        "add",
        "dev1",
        "--client-id",
        "sensor-1",
        "--superuser",
        "--expires-at",
        "2099-01-01T00:00:00Z",
        "--description",
        "roof",
      ],
      "",
    );
    expect(await show("dev1")).toMatchObject({
      username: "dev1",
      client_id: "sensor-1",
      is_superuser: true,
      expires_at: "2099-01-01T00:00:00.000Z",
      description: "roof",
      state: "active",
    });
    const disabled = await cli(["client", "add", "dev2", "--disabled"]);
    expect(disabled.stdout).toContain("created client dev2");
    expect((await show("dev2")).state).toBe("disabled");
  });

  it("add refuses an invalid username with exit 2 and an existing one with exit 1", async () => {
    expect((await runCli(["client", "add", " padded"], env)).code).toBe(2);
    await cli(["client", "add", "dev1"]);
    expect((await runCli(["client", "add", "dev1"], env)).code).toBe(1);
  });

  it.each([
    ["--password foo", ["--password", "foo-secret-1"]],
    ["--password=foo", ["--password=foo-secret-1"]],
    ["-p foo", ["-p", "foo-secret-1"]],
  ])("add %s is refused with exit 2, a pointer to stdin, and no client", async (_what, flags) => {
    const run = await runCli(["client", "add", "dev1", ...flags], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/stdin/);
    expect(run.stderr).not.toContain("foo-secret-1");
    expect((await runCli(["client", "show", "dev1"], env)).code).toBe(1);
  });

  it("rotate --password-stdin replaces the password", async () => {
    await cli(["client", "add", "dev1", "--password-stdin"], PASSWORD);
    const run = await cli(["client", "rotate", "dev1", "--password-stdin"], "a brand new secret\n");
    expect(run.stdout).toContain("rotated password of dev1");
    expect(run.stdout).not.toContain("a brand new secret");
    expect(await authenticateAgainst(dbPath, "dev1", PASSWORD)).toBe("deny");
    expect(await authenticateAgainst(dbPath, "dev1", "a brand new secret")).toBe("allow");
  });

  it("rotate without a terminal generates and prints a new password", async () => {
    await cli(["client", "add", "dev1", "--password-stdin"], PASSWORD);
    const password = GENERATED_LINE.exec((await cli(["client", "rotate", "dev1"])).stdout)?.[1];
    expect(password).toBeDefined();
    expect(await authenticateAgainst(dbPath, "dev1", PASSWORD)).toBe("deny");
    expect(await authenticateAgainst(dbPath, "dev1", password!)).toBe("allow");
  });

  it("rotate refuses a password under the minimum length with exit 1", async () => {
    await cli(["client", "add", "dev1", "--password-stdin"], PASSWORD);
    const run = await runCli(["client", "rotate", "dev1", "--password-stdin"], env, "short\n");
    expect(run.code).toBe(1);
    expect(await authenticateAgainst(dbPath, "dev1", PASSWORD)).toBe("allow");
  });

  it("disable denies the client; enable allows it again", async () => {
    await cli(["client", "add", "dev1", "--password-stdin"], PASSWORD);
    expect((await cli(["client", "disable", "dev1"])).stdout).toContain("disabled client dev1");
    expect((await show("dev1")).state).toBe("disabled");
    expect(await authenticateAgainst(dbPath, "dev1", PASSWORD)).toBe("deny");
    expect((await cli(["client", "enable", "dev1"])).stdout).toContain("enabled client dev1");
    expect((await show("dev1")).state).toBe("active");
    expect(await authenticateAgainst(dbPath, "dev1", PASSWORD)).toBe("allow");
  });

  it("delete removes the client; show and delete then exit 1", async () => {
    await cli(["client", "add", "dev1", "--password-stdin"], PASSWORD);
    expect((await cli(["client", "delete", "dev1"])).stdout).toContain("deleted client dev1");
    expect(await authenticateAgainst(dbPath, "dev1", PASSWORD)).toBe("deny");
    const showRun = await runCli(["client", "show", "dev1"], env);
    expect(showRun.code).toBe(1);
    expect(showRun.stderr).toMatch(/not found/);
    expect((await runCli(["client", "delete", "dev1"], env)).code).toBe(1);
  });

  it("show prints the client as JSON without any hash", async () => {
    await cli(["client", "add", "dev1", "--password-stdin"], PASSWORD);
    const run = await cli(["client", "show", "dev1"]);
    expect(JSON.parse(run.stdout)).toMatchObject({
      username: "dev1",
      state: "active",
      password_origin: "chosen",
    });
    expect(run.stdout).not.toContain("$argon2");
  });

  it("list prints every client, filters by state, and never a hash", async () => {
    await cli(["client", "add", "alpha", "--password-stdin"], PASSWORD);
    await cli(["client", "add", "bravo", "--disabled"]);
    const table = await cli(["client", "list"]);
    expect(table.stdout).toMatch(/^USERNAME\tSTATE/);
    expect(table.stdout).toMatch(/^alpha\tactive\t/m);
    expect(table.stdout).toMatch(/^bravo\tdisabled\t/m);
    expect(table.stdout).not.toContain("$argon2");
    const disabled = JSON.parse((await cli(["client", "list", "--state", "disabled", "--json"])).stdout) as {
      data: { username: string }[];
    };
    expect(disabled.data.map((c) => c.username)).toEqual(["bravo"]);
  });

  it("records each change in the audit log as the CLI user", async () => {
    await cli(["client", "add", "dev1", "--password-stdin"], PASSWORD);
    await cli(["client", "disable", "dev1"]);
    await cli(["client", "delete", "dev1"]);
    const rows = withReadonlyDb(dbPath, (db) =>
      db.prepare("SELECT actor, action FROM audit_log WHERE target = 'dev1' ORDER BY id").all(),
    ) as { actor: string; action: string }[];
    expect(rows.map((r) => r.action)).toEqual(["client.create", "client.update", "client.delete"]);
    for (const r of rows) expect(r.actor).toMatch(/^cli:/);
    expect(dumpAllTables(dbPath)).not.toContain(PASSWORD);
  });
});

describe("mqtt-authd client add: the password never reaches a command line", () => {
  it("keeps a password piped on stdin out of every process's /proc/<pid>/cmdline and environ", async () => {
    const username = `cmdline-probe-${randomBytes(6).toString("hex")}`;
    const password = `pw-${randomBytes(16).toString("hex")}`;
    const half = password.slice(0, password.length / 2);
    const { child, done } = spawnCli(["client", "add", username, "--password-stdin"], env);
    const exposed: string[] = [];
    try {
      // The scan sees the running CLI: its command line carries the username (and not the password).
      expect(processArgsAndEnv().get(child.pid!)?.cmdline).toContain(username);
      // Before any of it is sent, then while half of it is in flight.
      exposed.push(...processesExposing(half));
      child.stdin.write(half);
      exposed.push(...processesExposing(half));
      child.stdin.end(`${password.slice(half.length)}\n`);
      // From the moment the CLI holds the whole password until it exits: a helper process given the
      // password in its argv (the `mosquitto_passwd -b` pattern this service replaces) would show here.
      let scans = 0;
      while (child.exitCode === null) {
        exposed.push(...processesExposing(password));
        scans += 1;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      expect(scans).toBeGreaterThan(0);
    } finally {
      if (!child.stdin.writableEnded) child.stdin.end();
    }
    expect(exposed).toEqual([]);
    const run = await done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(password);
    expect(await authenticateAgainst(dbPath, username, password)).toBe("allow");
  });
});
