import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = `${ROOT}dist/main.js`;
export const HOST = "127.0.0.1";

/** A clean environment: the caller's MQTT_AUTHD_* variables must not tune the measured server. */
const cleanEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? "/usr/bin:/bin" });
/** Helpers that hash size the threadpool as main.ts does for the server. */
const scriptEnv = (): NodeJS.ProcessEnv => ({
  ...cleanEnv(),
  UV_THREADPOOL_SIZE: String(availableParallelism() + 4),
});

export interface Child {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

function track(child: ChildProcess): Child {
  let out = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(forced);
    },
  };
}

/** Runs a TypeScript entry beside this file in its own Node process (tsx), `input` on its stdin. */
export function spawnScript(script: string, args: readonly string[] = [], input?: string): Child {
  const child = spawn(process.execPath, ["--import", "tsx", `${ROOT}test/bench/${script}`, ...args], {
    cwd: ROOT,
    env: scriptEnv(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin?.end(input ?? "");
  return track(child);
}

/** Runs a script to completion and parses the last JSON line it printed. */
export async function runScript<T>(script: string, args: readonly string[] = [], input?: string): Promise<T> {
  const c = spawnScript(script, args, input);
  const code = await c.exited;
  const last = c.stdout().trim().split("\n").pop() ?? "";
  if (code !== 0 || !last.startsWith("{")) {
    throw new Error(`${script} failed (exit ${code}): ${c.stderr().slice(-2000)}`);
  }
  return JSON.parse(last) as T;
}

/** Waits for a JSON line carrying `port` on the child's stdout (the bare Express yardstick). */
export async function waitForPortLine(c: Child, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = c
      .stdout()
      .split("\n")
      .find((l) => l.includes('"port"'));
    if (line !== undefined) return (JSON.parse(line) as { port: number }).port;
    if (c.child.exitCode !== null) break;
    await sleep(20);
  }
  throw new Error(`no port line within ${timeoutMs} ms: ${c.stderr().slice(-2000)}`);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

export interface ServerSecrets {
  readonly hookSecret: string;
  readonly adminToken: string;
}

/**
 * Starts the real `node dist/main.js serve` with production argon2 defaults. At log level warn the
 * "mqtt-authd listening" line (logged at info) is not written, so the port is chosen here and the
 * server is ready when it accepts a connection; the line is still honoured if it appears.
 */
export async function startServer(
  db: string,
  secrets: ServerSecrets,
  settings: Readonly<Record<string, string>> = {},
): Promise<Child & { port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, "serve"], {
    cwd: ROOT,
    env: {
      // No UV_THREADPOOL_SIZE: main.ts sizes the threadpool itself, and that is part of what is measured.
      ...cleanEnv(),
      ...settings,
      MQTT_AUTHD_DB: db,
      MQTT_AUTHD_HOST: HOST,
      MQTT_AUTHD_PORT: String(port),
      MQTT_AUTHD_LOG_LEVEL: "warn",
      MQTT_AUTHD_HOOK_SECRET: secrets.hookSecret,
      MQTT_AUTHD_ADMIN_TOKEN: secrets.adminToken,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const c = track(child);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (c.stderr().includes('"mqtt-authd listening"') || (await canConnect(port))) return { ...c, port };
    if (child.exitCode !== null) break;
    await sleep(25);
  }
  await c.stop();
  throw new Error(`mqtt-authd serve did not listen on ${port}: ${c.stderr().slice(-2000)}`);
}

/** Runs `mqtt-authd <args>` (dist/) to completion, with only `env` (plus PATH) in its environment. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = track(
    spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: "pipe" }),
  );
  c.child.stdin?.end();
  const code = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** Peak resident set size of a live process, in MiB (Linux). */
export function peakRssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}
