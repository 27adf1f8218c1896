/**
 * `npm run bench`: starts the real mqtt-authd (dist/) on loopback with a fresh database and drives it
 * the way EMQX does, from this separate process. Prints one table; see args.ts for the options.
 *
 *   argon2 limit   slow verifies/s with every core busy, per profile (a child process)
 *   cold storm     N distinct clients connect at once, per fleet (chosen / generated) and shape
 *   warm           the same clients again: the fast path, against a bare Express handler
 *   authorization  /mqtt/acl with 20 rules per client, against a bare Express handler
 *   flood          wrong passwords from a botnet while legitimate devices log in
 *   stores         SQLite and PostgreSQL side by side: the generated fleet's storm, then warm
 *                  reconnects and ACL checks, on the last (recommended) shape
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Rule } from "../../src/acl/types.js";
import { generatePassword } from "../../src/passwords/secrets.js";
import type { PasswordOrigin } from "../../src/store/types.js";
import type { Argon2Limit } from "./argon2-limit.js";
import { type BenchArgs, parseArgs, type Shape, shapeName } from "./args.js";
import { BrokerPool } from "./broker-pool.js";
import { type FloodResult, runFlood } from "./flood.js";
import { type PacedResult, runPaced } from "./paced.js";

interface FloodRun {
  readonly shape: Shape;
  readonly warmDevices: number;
  readonly result: FloodResult;
}

import { type BenchPostgres, startBenchPostgres } from "./postgres.js";
import {
  type Child,
  HOST,
  peakRssMiB,
  runScript,
  type ServerSecrets,
  spawnScript,
  startServer,
  waitForPortLine,
} from "./processes.js";
import { describeMachine, fixed, loadNow, ms, pct, type Row, renderMachine, renderTable } from "./report.js";
import type { Credential, SeedJob } from "./seed.js";
import { runSteady, type SteadyResult } from "./steady.js";
import { runStorm, type StormResult } from "./storm.js";

const EMQX_TIMEOUT_MS = 5000;

interface Limits {
  readonly cores: number;
  readonly chosen: Argon2Limit;
  readonly generated: Argon2Limit;
}

const fleet = (prefix: string, n: number, password: () => string): Credential[] =>
  Array.from({ length: n }, (_, i) => ({
    username: `${prefix}-${String(i).padStart(6, "0")}`,
    password: password(),
  }));

/** 19 role rules and 1 client rule; the request matches only the role's last one: all 20 are read. */
function aclRules(): { role: Rule[]; client: Rule } {
  const role: Rule[] = Array.from({ length: 18 }, (_, k) => ({
    permission: "allow",
    action: "publish",
    topic: `devices/\${username}/telemetry/${k}`,
  }));
  role.push({ permission: "allow", action: "publish", topic: `devices/\${username}/state`, qos: [0, 1] });
  return { role, client: { permission: "allow", action: "subscribe", topic: `devices/\${username}/cmd/#` } };
}

const aclBody = (c: Credential, i: number) =>
  JSON.stringify({
    username: c.username,
    clientid: `${c.username}-dev`,
    peerhost: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    topic: `devices/${c.username}/state`,
    action: "publish",
    qos: "0",
    retain: "false",
  });

const warmBody = (c: Credential, i: number) =>
  JSON.stringify({
    username: c.username,
    password: c.password,
    clientid: `${c.username}-dev`,
    peerhost: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  });

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

interface StormRun {
  readonly origin: PasswordOrigin;
  readonly shape: Shape;
  readonly limit: number;
  readonly result: StormResult;
}

/** One store's run in the side-by-side comparison. */
interface StoreRun {
  readonly store: "SQLite" | "PostgreSQL";
  readonly storm: StormResult;
  readonly warm: SteadyResult | null;
  readonly acl: SteadyResult | null;
}

interface StoreComparison {
  readonly shape: Shape;
  readonly postgres: string;
  readonly runs: readonly StoreRun[];
}

interface SteadyPair {
  readonly shape: Shape;
  readonly product: SteadyResult;
  readonly bare: SteadyResult;
  /** The product at half its saturated rate, evenly paced (warm reconnect only). */
  readonly atHalf?: PacedResult;
  /** The bare handler at the same paced rate. */
  readonly bareAtHalf?: PacedResult;
}

async function main(args: BenchArgs, command: string): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadNow();
  const dir = mkdtempSync(join(tmpdir(), "mqtt-authd-bench-"));
  const servers: Child[] = [];
  try {
    const chosen = fleet("bench-chosen", args.clients, () => randomBytes(12).toString("base64url"));
    const generated = fleet("bench-gen", args.stormClients, generatePassword);
    const dbPath = join(dir, "bench.db");
    const rules = aclRules();
    log(`seeding ${chosen.length} chosen-password and ${generated.length} generated-secret clients…`);
    const job: SeedJob = {
      dbPath,
      fleets: [
        { origin: "chosen", clients: chosen },
        { origin: "generated", clients: generated },
      ],
      role: { name: "bench-device", rules: rules.role },
      clientRule: rules.client,
    };
    const seeded = await runScript<{ seconds: number }>("seed.ts", [], JSON.stringify(job));
    log(`seeded in ${fixed(seeded.seconds, 1)} s; measuring the argon2 limit…`);
    const limits = await runScript<Limits>("argon2-limit.ts", [String(args.limitSeconds)]);

    const secrets: ServerSecrets = {
      hookSecret: randomBytes(24).toString("base64url"),
      adminToken: `mqa_${randomBytes(32).toString("base64url")}`,
    };
    const headers = { "x-mqtt-authd-secret": secrets.hookSecret };
    const rss: { label: string; mib: number | null }[] = [];

    const withServer = async <T>(
      label: string,
      fn: (port: number) => Promise<T>,
      db = dbPath,
    ): Promise<T> => {
      const server = await startServer(db, secrets, args.serverEnv);
      servers.push(server);
      try {
        return await fn(server.port);
      } finally {
        rss.push({ label, mib: peakRssMiB(server.child.pid) });
        await server.stop();
        const warnings = server.stderr().trim();
        if (warnings !== "") log(`server log (${label}):\n${warnings.split("\n").slice(-5).join("\n")}`);
      }
    };

    const storms: StormRun[] = [];
    const warm: SteadyPair[] = [];
    const acl: SteadyPair[] = [];
    let warmFleet = 0;
    const stormFleets = [
      { origin: "chosen" as const, devices: chosen, limit: limits.chosen.verifiesPerSecond },
      { origin: "generated" as const, devices: generated, limit: limits.generated.verifiesPerSecond },
    ];
    for (const f of stormFleets) {
      for (const [s, shape] of args.shapes.entries()) {
        const label = `${f.origin} storm ${shapeName(shape)}`;
        // A fresh process per storm: the fast path starts empty, as after a restart.
        await withServer(label, async (port) => {
          const idealMs = (f.devices.length / f.limit) * 1000;
          const capMs = Math.min(60_000, Math.max(15_000, 1.5 * idealMs + 10_000));
          log(
            `${label}: ${f.devices.length} devices at once (ideal ${fixed(idealMs / 1000, 1)} s, cap ${fixed(capMs / 1000)} s)…`,
          );
          const pool = new BrokerPool({ host: HOST, port, shape, headers, timeoutMs: EMQX_TIMEOUT_MS });
          let admitted: readonly Credential[];
          try {
            const storm = await runStorm(pool, {
              devices: f.devices,
              backoffMs: [500, 1500],
              capMs,
              maxAttempts: 200,
            });
            storms.push({ origin: f.origin, shape, limit: f.limit, result: storm.result });
            admitted = storm.admitted;
          } finally {
            pool.close();
          }
          if (f.origin !== "chosen" || s !== 0) return;
          // Warm reconnects and authorization, for the devices that got in: they are in the fast
          // path now (the others would measure the slow path again).
          warmFleet = admitted.length;
          if (admitted.length === 0) return;
          const bare = spawnScript("bare-express.ts");
          servers.push(bare);
          try {
            const barePort = await waitForPortLine(bare, 20_000);
            for (const sh of args.shapes) {
              const common = { shape: sh, seconds: args.steadySeconds, headers };
              log(`warm reconnect and ACL, ${shapeName(sh)}…`);
              const body = (i: number) => warmBody(admitted[i % admitted.length]!, i);
              const product = await runSteady({ ...common, port, path: "/mqtt/auth", body });
              const bareAuth = await runSteady({ ...common, port: barePort, path: "/mqtt/auth", body });
              // Saturated, latency is only in-flight ÷ throughput (Little's law); at half the rate,
              // evenly paced through the broker's pool, it shows what a broker below the limit sees.
              // The bare handler at the same paced rate: what this machine's tail is with no work.
              const paced = async (target: number): Promise<PacedResult> => {
                const pool = new BrokerPool({
                  host: HOST,
                  port: target,
                  shape: sh,
                  headers,
                  timeoutMs: EMQX_TIMEOUT_MS,
                });
                try {
                  return await runPaced(pool, {
                    path: "/mqtt/auth",
                    perSecond: Math.max(10, Math.round(product.requestsPerSecond / 2)),
                    seconds: args.steadySeconds,
                    body,
                  });
                } finally {
                  pool.close();
                }
              };
              const atHalf = await paced(port);
              const bareAtHalf = await paced(barePort);
              warm.push({ shape: sh, product, bare: bareAuth, atHalf, bareAtHalf });
              const aBody = (i: number) => aclBody(admitted[i % admitted.length]!, i);
              const aclProduct = await runSteady({ ...common, port, path: "/mqtt/acl", body: aBody });
              const bareAcl = await runSteady({ ...common, port: barePort, path: "/mqtt/acl", body: aBody });
              acl.push({ shape: sh, product: aclProduct, bare: bareAcl });
            }
          } finally {
            await bare.stop();
          }
        });
      }
    }

    // The flood in every shape: with pipelining, a legitimate answer also waits behind the others
    // queued on its connection.
    const floods: FloodRun[] = [];
    for (const shape of args.shapes) {
      const flood = await withServer(`flood ${shapeName(shape)}`, async (port): Promise<FloodRun> => {
        const warmCount = Math.min(1000, Math.floor(generated.length / 2));
        const warmSet = generated.slice(0, warmCount);
        const pool = new BrokerPool({ host: HOST, port, shape, headers, timeoutMs: EMQX_TIMEOUT_MS });
        try {
          log(
            `flood ${shapeName(shape)}: warming ${warmCount} legitimate devices, then ${args.floodSeconds} s of wrong passwords…`,
          );
          const warmUp = await runStorm(pool, {
            devices: warmSet,
            backoffMs: [100, 300],
            capMs: 20_000,
            maxAttempts: 50,
          });
          const result = await runFlood({
            port,
            shape,
            seconds: args.floodSeconds,
            headers,
            pool,
            victims: chosen,
            warm: warmUp.admitted,
            cold: generated.slice(warmCount),
            warmPerSecond: args.quick ? 50 : 200,
            coldPerSecond: args.quick ? 20 : 100,
          });
          return { shape, warmDevices: warmUp.admitted.length, result };
        } finally {
          pool.close();
        }
      });
      floods.push(flood);
    }

    // SQLite and PostgreSQL side by side, same fleet, same shape, same run.
    let stores: StoreComparison | null = null;
    if (args.postgres) {
      log("stores: copying the seeded database into PostgreSQL (mqtt-authd copy)…");
      let pgdb: BenchPostgres | null = null;
      try {
        pgdb = await startBenchPostgres(dbPath);
        const cmpShape = args.shapes.at(-1)!;
        const runs: StoreRun[] = [];
        for (const [store, db] of [
          ["SQLite", dbPath],
          ["PostgreSQL", pgdb.url],
        ] as const) {
          const label = `${store}: ${generated.length} generated, ${shapeName(cmpShape)}`;
          runs.push(
            await withServer(
              label,
              async (port): Promise<StoreRun> => {
                log(`stores, ${label}: cold storm, then warm and ACL…`);
                const pool = new BrokerPool({
                  host: HOST,
                  port,
                  shape: cmpShape,
                  headers,
                  timeoutMs: EMQX_TIMEOUT_MS,
                });
                let storm: Awaited<ReturnType<typeof runStorm>>;
                try {
                  storm = await runStorm(pool, {
                    devices: generated,
                    backoffMs: [500, 1500],
                    capMs: 30_000,
                    maxAttempts: 200,
                  });
                } finally {
                  pool.close();
                }
                const admitted = storm.admitted;
                if (admitted.length === 0) return { store, storm: storm.result, warm: null, acl: null };
                const common = { shape: cmpShape, seconds: args.steadySeconds, headers, port };
                const warmRun = await runSteady({
                  ...common,
                  path: "/mqtt/auth",
                  body: (i: number) => warmBody(admitted[i % admitted.length]!, i),
                });
                const aclRun = await runSteady({
                  ...common,
                  path: "/mqtt/acl",
                  body: (i: number) => aclBody(admitted[i % admitted.length]!, i),
                });
                return { store, storm: storm.result, warm: warmRun, acl: aclRun };
              },
              db,
            ),
          );
        }
        stores = { shape: cmpShape, postgres: pgdb.description, runs };
      } catch (err) {
        log(`stores: PostgreSQL not measured: ${(err as Error).message.split("\n")[0]}`);
      } finally {
        await pgdb?.stop();
      }
    }

    const totalSeconds = (performance.now() - started) / 1000;
    const machine = describeMachine(loadAtStart);
    const rows = tableRows({
      limits,
      storms,
      warm,
      acl,
      warmFleet,
      floods,
      stores,
      rss,
    });
    const out = `\n${renderMachine(machine, command, totalSeconds)}\n\n${renderTable(rows)}\n`;
    process.stdout.write(out);
    if (args.jsonFile !== undefined) {
      const json = {
        machine,
        command,
        args,
        totalSeconds,
        seeded,
        limits,
        storms,
        warm,
        acl,
        floods,
        stores,
        rss,
        rows,
      };
      writeFileSync(args.jsonFile, `${JSON.stringify(json, null, 2)}\n`);
    }
  } finally {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function tableRows(r: {
  limits: Limits;
  storms: readonly StormRun[];
  warm: readonly SteadyPair[];
  acl: readonly SteadyPair[];
  warmFleet: number;
  floods: readonly FloodRun[];
  stores: StoreComparison | null;
  rss: readonly { label: string; mib: number | null }[];
}): Row[] {
  const rows: Row[] = [];
  const cores = `${r.limits.cores} cores`;
  for (const [name, l] of [
    ["chosen", r.limits.chosen],
    ["generated", r.limits.generated],
  ] as const) {
    const p = l.profile;
    rows.push({
      scenario: `argon2 limit, ${name} (m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism})`,
      shape: cores,
      figure: "verifies/s (one verify)",
      value: `${fixed(l.verifiesPerSecond, 1)}/s (${ms(l.meanVerifyMs)})`,
    });
  }
  for (const s of r.storms) {
    const x = s.result;
    const scenario = `cold storm, ${x.devices} ${s.origin}`;
    const shape = shapeName(s.shape);
    const add = (figure: string, value: string, target?: Row["target"]) =>
      rows.push(
        target === undefined
          ? { scenario, shape, figure, value }
          : { scenario, shape, figure, value, target },
      );
    const all =
      x.timeToAllMs === null
        ? `not all: ${x.allowed}/${x.devices} by ${fixed(x.wallMs / 1000, 1)} s`
        : `${fixed(x.timeToAllMs / 1000, 2)} s`;
    add(
      "time until all allowed",
      all,
      s.origin === "generated"
        ? { text: "≤ 5 s", met: x.timeToAllMs !== null && x.timeToAllMs <= 5000 }
        : undefined,
    );
    add("allowed within 5 s", `${x.allowedWithin5s}/${x.devices}`);
    add("allowed/s", `${fixed(x.allowedPerSecond, 1)}/s`);
    add("goodput ÷ argon2 limit", fixed(x.allowedPerSecond / s.limit, 2), {
      text: "≥ 0.9",
      met: x.allowedPerSecond / s.limit >= 0.9,
    });
    add("latency p50 / p99 / max", `${ms(x.p50Ms)} / ${ms(x.p99Ms)} / ${ms(x.maxMs)}`);
    add("answers later than 5 s", String(x.late), { text: "0", met: x.late === 0 });
    add(
      "attempts: ignore / expired in broker queue / errors",
      `${x.attempts}: ${x.ignore} / ${x.expired} / ${x.errors}`,
    );
    if (x.denied + x.other > 0) add("denied / other answers", `${x.denied} / ${x.other}`);
  }
  for (const [label, list] of [
    [`warm reconnect (/mqtt/auth), ${r.warmFleet} clients`, r.warm],
    [`authorization (/mqtt/acl, 20 rules), ${r.warmFleet} clients`, r.acl],
  ] as const) {
    for (const w of list) {
      const shape = shapeName(w.shape);
      const ratio = w.product.requestsPerSecond / w.bare.requestsPerSecond;
      const warmTargets = list === r.warm;
      rows.push(
        { scenario: label, shape, figure: "req/s", value: `${fixed(w.product.requestsPerSecond)}/s` },
        {
          scenario: label,
          shape,
          figure: "latency p50 / p99 (saturated)",
          value: `${ms(w.product.p50Ms)} / ${ms(w.product.p99Ms)}`,
          ...(warmTargets && { target: { text: "p99 ≤ 10 ms", met: w.product.p99Ms <= 10 } }),
        },
        {
          scenario: label,
          shape,
          figure: "÷ bare Express",
          value: `${fixed(ratio, 2)} (bare ${fixed(w.bare.requestsPerSecond)}/s, p99 ${ms(w.bare.p99Ms)})`,
          ...(warmTargets && { target: { text: "≥ 0.7", met: ratio >= 0.7 } }),
        },
        ...(w.atHalf === undefined
          ? []
          : [
              {
                scenario: label,
                shape,
                figure: `latency p50 / p99 at ${fixed(w.atHalf.requestsPerSecond)} req/s (½ max, evenly paced)`,
                value:
                  `${ms(w.atHalf.p50Ms)} / ${ms(w.atHalf.p99Ms)} (allow ${w.atHalf.allowed}/${w.atHalf.sent})` +
                  (w.bareAtHalf === undefined
                    ? ""
                    : `; bare Express at the same rate: ${ms(w.bareAtHalf.p50Ms)} / ${ms(w.bareAtHalf.p99Ms)}`),
                target: { text: "p99 ≤ 10 ms", met: w.atHalf.p99Ms <= 10 },
              },
            ]),
        {
          scenario: label,
          shape,
          figure: "answers allow / total (errors)",
          value: `${w.product.allowed}/${w.product.total} (${w.product.errors + w.product.timeouts})`,
        },
      );
    }
  }
  const results = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  for (const { shape, warmDevices, result: f } of r.floods) {
    const fshape = shapeName(shape);
    rows.push({
      scenario: "wrong-password flood: attacker",
      shape: fshape,
      figure: "req/s; answers",
      value: `${fixed(f.attacker.requestsPerSecond)}/s; ${results(f.attacker.results)}`,
    });
    for (const [name, g] of [
      [`warm (fast path, ${warmDevices} devices)`, f.warm],
      ["cold (first login, generated)", f.cold],
    ] as const) {
      rows.push(
        {
          scenario: `wrong-password flood: legitimate ${name}`,
          shape: fshape,
          figure: "allowed (success rate)",
          value: `${g.allowed}/${g.attempts} (${pct(g.successRate)}); ${results(g.outcomes)}`,
          target: { text: "≥ 99 %", met: g.successRate >= 0.99 },
        },
        {
          scenario: `wrong-password flood: legitimate ${name}`,
          shape: fshape,
          figure: "latency p99",
          value: ms(g.p99Ms),
        },
      );
    }
  }
  if (r.stores !== null) {
    const shape = shapeName(r.stores.shape);
    const [lite, post] = r.stores.runs;
    for (const run of r.stores.runs) {
      const scenario = `stores: ${run.store}${run.store === "PostgreSQL" ? ` (${r.stores.postgres})` : ""}`;
      const x = run.storm;
      rows.push(
        {
          scenario,
          shape,
          figure: `cold storm, ${x.devices} generated: time until all / p99 / late`,
          value: `${x.timeToAllMs === null ? `not all (${x.allowed}/${x.devices})` : `${fixed(x.timeToAllMs / 1000, 2)} s`} / ${ms(x.p99Ms)} / ${x.late}`,
          target: {
            text: "all ≤ 5 s, 0 late",
            met: x.timeToAllMs !== null && x.timeToAllMs <= 5000 && x.late === 0,
          },
        },
        {
          scenario,
          shape,
          figure: "warm /mqtt/auth req/s (p50 / p99)",
          value:
            run.warm === null
              ? "–"
              : `${fixed(run.warm.requestsPerSecond)}/s (${ms(run.warm.p50Ms)} / ${ms(run.warm.p99Ms)})`,
        },
        {
          scenario,
          shape,
          figure: "/mqtt/acl req/s (p50 / p99)",
          value:
            run.acl === null
              ? "–"
              : `${fixed(run.acl.requestsPerSecond)}/s (${ms(run.acl.p50Ms)} / ${ms(run.acl.p99Ms)})`,
        },
      );
    }
    if (lite?.warm && post?.warm && lite.acl && post.acl) {
      rows.push({
        scenario: "stores: PostgreSQL ÷ SQLite",
        shape,
        figure: "warm /mqtt/auth; /mqtt/acl",
        value: `${fixed(post.warm.requestsPerSecond / lite.warm.requestsPerSecond, 2)}; ${fixed(post.acl.requestsPerSecond / lite.acl.requestsPerSecond, 2)}`,
      });
    }
  }
  const peaks = r.rss.filter((x) => x.mib !== null);
  const peak = peaks.reduce((a, b) => (b.mib! > a.mib! ? b : a), peaks[0] ?? { label: "–", mib: null });
  rows.push({
    scenario: "server process",
    shape: "",
    figure: "peak RSS (VmHWM), worst run",
    value: peak.mib === null ? "–" : `${fixed(peak.mib)} MiB (${peak.label})`,
  });
  return rows;
}

const argv = process.argv.slice(2);
let args: BenchArgs;
try {
  args = parseArgs(argv);
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(2);
}
await main(args, `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`);
