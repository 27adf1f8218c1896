import type { Shape } from "./args.js";
import type { AttackJob } from "./attacker.js";
import type { BrokerPool } from "./broker-pool.js";
import { runPaced } from "./paced.js";
import { spawnScript, waitForPortLine } from "./processes.js";
import type { Credential } from "./seed.js";
import type { SteadyResult } from "./steady.js";
import { authBody } from "./storm.js";

/**
 * A wrong-password flood while legitimate devices log in. The attacker (autocannon in its own
 * process, attacker.ts, the broker's connection shape) sends a fresh wrong password per request for existing users whose
 * passwords are not in the fast path yet, each from a different address (a botnet, so the per-source
 * lockouts do not end it early): every attempt asks for a slow verify. Meanwhile legitimate devices
 * connect at a steady rate through the broker's pool: devices that logged in before (warm) and
 * devices logging in for the first time (cold). Each legitimate attempt is counted once, no retry.
 */

export interface LegitResult {
  readonly attempts: number;
  readonly allowed: number;
  readonly successRate: number;
  readonly p99Ms: number;
  readonly outcomes: Record<string, number>;
}

export interface FloodResult {
  readonly attacker: SteadyResult;
  readonly warm: LegitResult;
  readonly cold: LegitResult;
}

async function legitStream(
  pool: BrokerPool,
  devices: readonly Credential[],
  firstIndex: number,
  perSecond: number,
  seconds: number,
): Promise<LegitResult> {
  const r = await runPaced(pool, {
    path: "/mqtt/auth",
    perSecond,
    seconds,
    max: devices.length,
    body: (i) => authBody(devices[i]!, firstIndex + i),
  });
  return {
    attempts: r.sent,
    allowed: r.allowed,
    successRate: r.sent === 0 ? 0 : r.allowed / r.sent,
    p99Ms: r.p99Ms,
    outcomes: r.outcomes,
  };
}

export async function runFlood(opts: {
  readonly port: number;
  readonly shape: Shape;
  readonly seconds: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly pool: BrokerPool;
  /** Cold users of the full profile whose names the attacker guesses passwords for. */
  readonly victims: readonly Credential[];
  readonly warm: readonly Credential[];
  readonly cold: readonly Credential[];
  readonly warmPerSecond: number;
  readonly coldPerSecond: number;
}): Promise<FloodResult> {
  const job: AttackJob = {
    port: opts.port,
    shape: opts.shape,
    seconds: opts.seconds,
    headers: opts.headers,
    victims: opts.victims.map((v) => v.username),
  };
  const attacker = spawnScript("attacker.ts", [], JSON.stringify(job));
  await waitForPortLine(attacker, 20_000);
  const [warm, cold] = await Promise.all([
    legitStream(opts.pool, opts.warm, 0, opts.warmPerSecond, opts.seconds),
    legitStream(opts.pool, opts.cold, 1_000_000, opts.coldPerSecond, opts.seconds),
  ]);
  const code = await attacker.exited;
  const last = attacker.stdout().trim().split("\n").pop() ?? "";
  if (code !== 0 || !last.includes('"requestsPerSecond"')) {
    throw new Error(`attacker.ts failed (exit ${code}): ${attacker.stderr().slice(-2000)}`);
  }
  return { attacker: JSON.parse(last) as SteadyResult, warm, cold };
}
