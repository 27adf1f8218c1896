/**
 * The benchmark's PostgreSQL: MQTT_AUTHD_BENCH_PG_URL (a superuser URL of a server you run), or a
 * throwaway cluster started with .ci/postgres.sh (Debian's postgresql server binaries). The seeded
 * SQLite database is moved into it with `mqtt-authd copy`, so both stores hold the same fleets.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { runCli } from "./processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface BenchPostgres {
  /** URL of the database holding the copied fleets. */
  readonly url: string;
  /** Where it came from, for the report ("throwaway cluster, PostgreSQL 15.x" …). */
  readonly description: string;
  stop(): Promise<void>;
}

export async function startBenchPostgres(sqlitePath: string): Promise<BenchPostgres> {
  let adminUrl = process.env.MQTT_AUTHD_BENCH_PG_URL ?? "";
  let stopCluster = () => {};
  let origin = "MQTT_AUTHD_BENCH_PG_URL";
  if (adminUrl === "") {
    const parent = mkdtempSync(join(tmpdir(), "mqtt-authd-bench-pg-"));
    chmodSync(parent, 0o711);
    const dir = join(parent, "cluster");
    adminUrl = execFileSync("bash", [`${ROOT}.ci/postgres.sh`, "start", dir], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
    origin = "throwaway cluster on loopback (fsync off)";
    stopCluster = () => {
      execFileSync("bash", [`${ROOT}.ci/postgres.sh`, "stop", dir], { stdio: "ignore" });
      rmSync(parent, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const name = `mqtt_authd_bench_${process.pid}`;
  let version = "";
  try {
    version =
      (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? "";
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // The product's own migration path: the URL goes through the environment, never argv.
  const copied = await runCli(["copy"], { MQTT_AUTHD_DB: sqlitePath, MQTT_AUTHD_COPY_TO: url.toString() });
  if (copied.code !== 0) throw new Error(`mqtt-authd copy failed: ${copied.stderr.slice(-2000)}`);
  return {
    url: url.toString(),
    description: `PostgreSQL ${version}, ${origin}`,
    async stop() {
      const a = new pg.Client({ connectionString: adminUrl });
      try {
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch {
        // the cluster is going away anyway
      } finally {
        await a.end().catch(() => {});
      }
      stopCluster();
    },
  };
}
