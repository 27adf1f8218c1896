import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config.js";
import type { AuthnDecision } from "../../src/core/authenticate.js";
import { createLogger } from "../../src/logger.js";
import { openServices } from "../../src/service.js";
import { FAST_ARGON2_ENV } from "./context.js";

/** The compiled entry point (test/global-setup.ts builds dist/ before any test runs). */
export const MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), "mqtt-authd-proc-"));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A clean environment: the test runner's own MQTT_AUTHD_* variables must not leak into the child. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", ...FAST_ARGON2_ENV, ...extra };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliRun extends Exit {
  stdout: string;
  stderr: string;
}

/** Starts `node dist/main.js ARGS` with piped stdio; stdin stays open until the caller ends it. */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): {
  child: ChildProcessWithoutNullStreams;
  done: Promise<CliRun>;
} {
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs the CLI to completion; stdin is a pipe (never a TTY) carrying `input`, then closed. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<CliRun> {
  const { child, done } = spawnCli(args, env);
  child.stdin.end(input);
  return done;
}

/** Every process's command line and environment, NUL separators as spaces. */
export function processArgsAndEnv(): Map<number, { cmdline: string; environ: string }> {
  const found = new Map<number, { cmdline: string; environ: string }>();
  const read = (path: string) => readFileSync(path).toString("utf8").replaceAll("\0", " ");
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      found.set(Number(entry), {
        cmdline: read(`/proc/${entry}/cmdline`),
        environ: read(`/proc/${entry}/environ`),
      });
    } catch {
      // The process ended between listing and reading.
    }
  }
  return found;
}

/** The processes whose command line or environment contains `needle`, as readable lines. */
export function processesExposing(needle: string): string[] {
  return [...processArgsAndEnv()]
    .filter(([, p]) => p.cmdline.includes(needle) || p.environ.includes(needle))
    .map(([pid, p]) => `${pid}: ${p.cmdline}`);
}

/** What the in-process service decides for these credentials against the database at `dbPath`. */
export async function authenticateAgainst(
  dbPath: string,
  username: string,
  password: string,
  clientid = "c1",
): Promise<AuthnDecision["result"]> {
  const config = loadConfig({ MQTT_AUTHD_DB: dbPath, ...FAST_ARGON2_ENV });
  const services = await openServices(config, createLogger("silent"));
  try {
    return (await services.authenticate({ username, password, clientid, peerhost: "127.0.0.1" })).result;
  } finally {
    await services.close();
  }
}
