import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { APPLICATION_ID } from "../../src/db/open.js";
import { withReadonlyDb } from "../helpers/db.js";
import { runConcurrently } from "../helpers/pool.js";
import { childEnv, type Exit, makeTempDir, removeDir, runCli, spawnCli } from "../helpers/processes.js";
import { remoteApi, remoteHook } from "../helpers/remote.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";

/**
 * Operations on the real process: graceful shutdown with requests in flight, `mqtt-authd backup`
 * while serving and taking writes, the documented restore, refusing corrupt and foreign files, and
 * an admin reading the live database with the sqlite3 shell.
 */

const ADMIN_TOKEN = "mqa_ops-test-admin-token-0123456789abcdef";
const HOOK_SECRET = "ops-test-hook-secret-0123456789";

let dir: string;
let dbPath: string;
let env: NodeJS.ProcessEnv;
let server: ServerProcess | undefined;
beforeEach(() => {
  dir = makeTempDir();
  dbPath = join(dir, "mqtt-authd.db");
  env = childEnv({
    MQTT_AUTHD_DB: dbPath,
    MQTT_AUTHD_ADMIN_TOKEN: ADMIN_TOKEN,
    MQTT_AUTHD_HOOK_SECRET: HOOK_SECRET,
    // info: startServer() waits for the "listening" line.
    MQTT_AUTHD_LOG_LEVEL: "info",
  });
});
afterEach(async () => {
  await server?.stop("SIGKILL");
  server = undefined;
  removeDir(dir);
});

const passwordOf = (username: string) => `password of ${username}`;
const createClient = (s: ServerProcess, username: string) =>
  remoteApi(s.baseUrl, ADMIN_TOKEN, "POST", "/api/v1/clients", { username, password: passwordOf(username) });
const getClient = (s: ServerProcess, username: string) =>
  remoteApi(s.baseUrl, ADMIN_TOKEN, "GET", `/api/v1/clients/${username}`);

/** How the child ends; listen before signalling it (a second SIGTERM would kill it outright). */
const exitOf = (child: ChildProcess) =>
  new Promise<Exit>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));

/**
 * A POST whose headers and first half of the body are on the wire, the rest held back until
 * `finish()`: a request the server has accepted and is still reading.
 */
function startSlowPost(port: number, path: string, body: unknown) {
  const bytes = Buffer.from(JSON.stringify(body));
  const req = httpRequest({
    host: "127.0.0.1",
    port,
    path,
    method: "POST",
    agent: false,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "application/json",
      "content-length": String(bytes.length),
    },
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  // Handled by whoever awaits it; a rejection before that must not count as unhandled.
  response.catch(() => undefined);
  const half = Math.floor(bytes.length / 2);
  const sent = new Promise<void>((resolve) => req.write(bytes.subarray(0, half), () => resolve()));
  return {
    sent,
    response,
    finish() {
      req.end(bytes.subarray(half));
      return response;
    },
  };
}

/** A fresh connection (no pooled keep-alive socket) to the port; resolves with the error code, if any. */
function connectError(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/healthz", agent: false }, (res) => {
      res.resume();
      resolve(null);
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

const integrity = (path: string) =>
  withReadonlyDb(path, (db) => db.pragma("integrity_check", { simple: true }));
const walSize = (path: string) => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);

describe("graceful shutdown on SIGTERM", () => {
  it("stops accepting, finishes the requests in flight, exits 0 and leaves a clean, checkpointed database", async () => {
    server = await startServer(env);
    const s = server;
    const slow = Array.from({ length: 5 }, (_, i) =>
      startSlowPost(s.port, "/api/v1/clients", {
        username: `inflight-${i}`,
        password: passwordOf(`inflight-${i}`),
      }),
    );
    await Promise.all(slow.map((r) => r.sent));
    // Answered after the slow requests' headers arrived: by now the server is reading their bodies.
    expect((await remoteApi(s.baseUrl, ADMIN_TOKEN, "GET", "/healthz")).status).toBe(200);

    const exited = exitOf(s.child);
    s.child.kill("SIGTERM");
    await vi.waitFor(
      () =>
        expect(s.logLines().map((l) => l.msg)).toContain(
          "shutting down: no new connections, finishing in-flight requests",
        ),
      { timeout: 5000 },
    );
    expect(await connectError(s.port)).toBe("ECONNREFUSED");

    const answers = await Promise.all(slow.map((r) => r.finish()));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(s.logLines().map((l) => l.msg)).toContain("stopped");

    // Closed cleanly: the last connection checkpointed the WAL into the file.
    expect(walSize(dbPath)).toBe(0);
    expect(integrity(dbPath)).toBe("ok");
    server = await startServer(env);
    for (let i = 0; i < 5; i++) expect((await getClient(server, `inflight-${i}`)).status).toBe(200);
  });

  it("exits 0 after MQTT_AUTHD_SHUTDOWN_TIMEOUT_MS even when a request never completes", async () => {
    server = await startServer({ ...env, MQTT_AUTHD_SHUTDOWN_TIMEOUT_MS: "300" });
    const s = server;
    const stuck = startSlowPost(s.port, "/api/v1/clients", {
      username: "stuck",
      password: passwordOf("stuck"),
    });
    await stuck.sent;
    expect((await remoteApi(s.baseUrl, ADMIN_TOKEN, "GET", "/healthz")).status).toBe(200);

    const exited = exitOf(s.child);
    s.child.kill("SIGTERM");
    expect(await exited).toEqual({ code: 0, signal: null });
    await expect(stuck.response).rejects.toThrow();
    expect(integrity(dbPath)).toBe("ok");
  });
});

describe("mqtt-authd backup, and the documented restore", () => {
  it("backs up while serving and taking writes; restoring the copy brings back exactly what it held", async () => {
    server = await startServer(env);
    const s = server;
    const before = Array.from({ length: 20 }, (_, i) => `before-${i}`);
    for (const username of before) expect((await createClient(s, username)).status).toBe(201);

    // Writes keep coming while the backup runs.
    let stopWriting = false;
    const writerStatuses: number[] = [];
    const writer = (async () => {
      for (let i = 0; i < 500 && !stopWriting; i++)
        writerStatuses.push((await createClient(s, `during-${i}`)).status);
    })();
    const backupPath = join(dir, "backup.db");
    const backup = await runCli(["backup", backupPath], env);
    stopWriting = true;
    await writer;
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toContain(`backup written to ${backupPath}`);
    expect(statSync(backupPath).mode & 0o777, "the backup holds the hashes").toBe(0o600);
    expect(writerStatuses.length).toBeGreaterThan(0);
    expect(writerStatuses.filter((status) => status !== 201)).toEqual([]);

    // A second backup to the same file is refused rather than overwriting it.
    const again = await runCli(["backup", backupPath], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("exists");

    expect((await createClient(s, "after-backup")).status).toBe(201);

    const copy = withReadonlyDb(backupPath, (db) => ({
      integrity: db.pragma("integrity_check", { simple: true }),
      applicationId: db.pragma("application_id", { simple: true }),
      usernames: db.prepare("SELECT username FROM mqtt_clients").pluck().all() as string[],
    }));
    expect(copy.integrity).toBe("ok");
    expect(copy.applicationId).toBe(APPLICATION_ID);
    expect(copy.usernames).toEqual(expect.arrayContaining(before));
    expect(copy.usernames).not.toContain("after-backup");

    // The README's restore: stop the service, copy the backup over MQTT_AUTHD_DB, delete the -wal
    // and -shm files, start.
    expect(await s.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    copyFileSync(backupPath, dbPath);
    rmSync(`${dbPath}-wal`, { force: true });
    rmSync(`${dbPath}-shm`, { force: true });
    server = await startServer(env);
    const restored = server;

    for (const username of before) expect((await getClient(restored, username)).status).toBe(200);
    expect((await getClient(restored, "after-backup")).status).toBe(404);
    const login = await remoteHook(restored.baseUrl, HOOK_SECRET, {
      username: "before-7",
      password: passwordOf("before-7"),
    });
    expect(login.body).toMatchObject({ result: "allow" });
    expect((await createClient(restored, "after-restore")).status).toBe(201);
    expect(integrity(dbPath)).toBe("ok");
  });
});

describe("refusing a file it must not touch", () => {
  /** `mqtt-authd serve` on `path`, killed if it is still running after 15 s (it should exit at once). */
  async function serveOn(path: string) {
    const { child, done } = spawnCli(["serve"], childEnv({ MQTT_AUTHD_DB: path, MQTT_AUTHD_PORT: "0" }));
    child.stdin.end();
    const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
    try {
      return await done;
    } finally {
      clearTimeout(guard);
    }
  }

  const snapshotDir = () =>
    readdirSync(dir)
      .sort()
      .map((name) => `${name}:${statSync(join(dir, name)).size}`);

  it("a corrupt file: exits non-zero with a clear message and leaves the bytes and folder untouched", async () => {
    const path = join(dir, "corrupt.db");
    const bytes = Buffer.concat([Buffer.from("not a database!\0"), randomBytes(16 * 1024)]);
    writeFileSync(path, bytes);
    const files = snapshotDir();

    const run = await serveOn(path);
    expect(run.signal).toBeNull();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/corrupt\.db is not a usable SQLite database/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(snapshotDir()).toEqual(files);
  });

  it("another application's SQLite database: exits non-zero naming the problem and leaves it untouched", async () => {
    const path = join(dir, "foreign.db");
    const foreign = new Database(path);
    foreign.exec(
      "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL); INSERT INTO invoices VALUES (1, 9.5);",
    );
    foreign.close();
    const bytes = readFileSync(path);
    const files = snapshotDir();

    const run = await serveOn(path);
    expect(run.signal).toBeNull();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/foreign\.db is an SQLite database, but not an mqtt-authd one/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(snapshotDir()).toEqual(files);
  });

  // delete: the rollback journal, as an admin who ran `PRAGMA journal_mode=DELETE` leaves the file.
  it.each(["wal", "delete"])(
    "a database written by a newer release (journal_mode=%s): exits non-zero asking for an upgrade, bytes untouched",
    async (journalMode) => {
      server = await startServer(env);
      expect((await createClient(server, "dev1")).status).toBe(201);
      expect(await server.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      server = undefined;
      const db = new Database(dbPath);
      db.pragma(`journal_mode = ${journalMode}`);
      db.pragma("user_version = 999");
      db.close();
      const bytes = readFileSync(dbPath);

      const run = await serveOn(dbPath);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/newer than this release supports/);
      expect(readFileSync(dbPath).equals(bytes)).toBe(true);
    },
  );
});

function hasSqlite3(): boolean {
  try {
    execFileSync("sqlite3", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("an admin reading the live database with the sqlite3 shell", () => {
  // .ci/run installs sqlite3; on a developer machine without it the test is skipped, never in CI.
  const available = hasSqlite3() || process.env.CI === "true";

  it.skipIf(!available)(
    "does not disturb the service under load, even holding a read transaction open",
    async () => {
      server = await startServer(env);
      const s = server;
      for (let i = 0; i < 20; i++) expect((await createClient(s, `seed-${i}`)).status).toBe(201);

      // An interactive shell that opened a transaction and read, then left it open.
      const shell = spawn("sqlite3", [dbPath], { stdio: "pipe" });
      let shellOut = "";
      shell.stdout.on("data", (chunk: Buffer) => {
        shellOut += chunk.toString();
      });
      const shellExit = exitOf(shell);
      shell.stdin.write("BEGIN;\nSELECT 'held', count(*) FROM mqtt_clients;\n");
      await vi.waitFor(() => expect(shellOut).toContain("held|20"), { timeout: 5000 });

      const failures: string[] = [];
      const load = runConcurrently(
        Array.from({ length: 240 }, (_, i) => i),
        10,
        async (i) => {
          const username = `load-${i}`;
          const res =
            i % 3 === 0
              ? await createClient(s, username)
              : i % 3 === 1
                ? await getClient(s, `seed-${i % 20}`)
                : await remoteHook(s.baseUrl, HOOK_SECRET, {
                    username: `seed-${i % 20}`,
                    password: passwordOf(`seed-${i % 20}`),
                  });
          const allowed = i % 3 !== 2 || (res.body as { result?: string }).result === "allow";
          if (res.status < 200 || res.status >= 300 || !allowed)
            failures.push(`${i}: ${res.status} ${res.text}`);
        },
      );
      // Meanwhile, one-shot queries as an admin types them (views included).
      const reads: string[] = [];
      for (let i = 0; i < 5; i++) {
        reads.push(
          execFileSync(
            "sqlite3",
            [
              dbPath,
              "SELECT count(*) FROM clients_overview; SELECT count(*) FROM active_lockouts; SELECT count(*) FROM audit_log;",
            ],
            { encoding: "utf8", timeout: 10_000 },
          ),
        );
      }
      await load;
      shell.stdin.end("COMMIT;\n.quit\n");

      expect(failures).toEqual([]);
      expect(await shellExit).toEqual({ code: 0, signal: null });
      expect(reads.every((out) => /^\d+\n\d+\n\d+\n$/.test(out))).toBe(true);
      expect(integrity(dbPath)).toBe("ok");
      expect((await getClient(s, "load-0")).status).toBe(200);
    },
  );
});
