import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withReadonlyDb } from "../helpers/db.js";
import { runConcurrently } from "../helpers/pool.js";
import { childEnv, makeTempDir, removeDir } from "../helpers/processes.js";
import { remoteApi, remoteHook } from "../helpers/remote.js";
import { type ServerProcess, startServer } from "../helpers/server-process.js";

/**
 * kill -9 in the middle of a burst of provisioning writes: every write that was acknowledged (2xx)
 * must be there after a restart, and the file must be intact. (synchronous=FULL in WAL mode: the
 * commit is fsynced before the answer, so this holds for a power loss too; a process kill is what a
 * test can do.)
 */

const ADMIN_TOKEN = "mqa_crash-test-admin-token-0123456789abcdef";
const HOOK_SECRET = "crash-test-hook-secret-0123456789";
const CREATES = 300;
const IN_FLIGHT = 50;
const KILL_AFTER_ACKS = 100;

let dir: string;
let env: NodeJS.ProcessEnv;
let server: ServerProcess | undefined;
beforeEach(() => {
  dir = makeTempDir();
  env = childEnv({
    MQTT_AUTHD_DB: join(dir, "mqtt-authd.db"),
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

describe("SIGKILL during a burst of concurrent provisioning writes", () => {
  it("keeps every acknowledged create and update, and the database passes integrity_check", async () => {
    server = await startServer(env);
    const running = server;
    const created = new Set<string>();
    const patched = new Map<string, string>();
    let failed = 0;
    let killed = false;

    const usernames = Array.from({ length: CREATES }, (_, i) => `burst-${String(i).padStart(3, "0")}`);
    await runConcurrently(usernames, IN_FLIGHT, async (username, i) => {
      try {
        const create = await remoteApi(running.baseUrl, ADMIN_TOKEN, "POST", "/api/v1/clients", {
          username,
          password: passwordOf(username),
        });
        if (create.status !== 201) throw new Error(`create ${username}: ${create.status} ${create.text}`);
        created.add(username);
        if (created.size >= KILL_AFTER_ACKS && !killed) {
          killed = true;
          running.child.kill("SIGKILL");
        }
        if (i % 3 !== 0) return;
        const description = `patched after create ${i}`;
        const patch = await remoteApi(running.baseUrl, ADMIN_TOKEN, "PATCH", `/api/v1/clients/${username}`, {
          description,
        });
        if (patch.status !== 200) throw new Error(`patch ${username}: ${patch.status} ${patch.text}`);
        patched.set(username, description);
      } catch (err) {
        // Refused connections and resets after the kill are expected; an HTTP error before it is not.
        if (!killed) throw err;
        failed++;
      }
    });

    expect(await running.stop("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    // The kill landed mid-burst: some writes were acknowledged, others never were.
    expect(created.size).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
    expect(created.size).toBeLessThan(CREATES);
    expect(failed).toBeGreaterThan(0);

    server = await startServer(env);
    const restarted = server;
    const missing: string[] = [];
    const wrongDescription: string[] = [];
    await runConcurrently([...created], 10, async (username) => {
      const res = await remoteApi(restarted.baseUrl, ADMIN_TOKEN, "GET", `/api/v1/clients/${username}`);
      if (res.status !== 200) {
        missing.push(`${username}: ${res.status}`);
        return;
      }
      const description = patched.get(username);
      if (description !== undefined && (res.body as { description: string }).description !== description) {
        wrongDescription.push(username);
      }
    });
    expect(missing).toEqual([]);
    expect(wrongDescription).toEqual([]);

    // The stored hashes are whole: every acknowledged client logs in with its password.
    const denied: string[] = [];
    for (const username of created) {
      const res = await remoteHook(restarted.baseUrl, HOOK_SECRET, {
        username,
        password: passwordOf(username),
      });
      if ((res.body as { result?: string }).result !== "allow") denied.push(`${username}: ${res.text}`);
    }
    expect(denied).toEqual([]);

    const check = withReadonlyDb(env.MQTT_AUTHD_DB!, (db) => ({
      integrity: db.pragma("integrity_check", { simple: true }),
      foreignKeys: db.pragma("foreign_key_check"),
      // Each acknowledged create wrote its audit row in the same transaction.
      auditedCreates: db
        .prepare("SELECT target FROM audit_log WHERE action = 'client.create'")
        .pluck()
        .all() as string[],
    }));
    expect(check.integrity).toBe("ok");
    expect(check.foreignKeys).toEqual([]);
    for (const username of created) expect(check.auditedCreates).toContain(username);
  });
});
