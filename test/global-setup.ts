import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migratePostgres } from "../src/db/postgres/migrate.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL cluster the tests create their databases in. */
    pgAdminUrl: string;
  }
}

interface Shared {
  pgAdminUrl: string;
  users: number;
  stop: () => void;
}

// Each vitest project (sqlite, postgres) calls this; the build and the cluster happen once per run.
const KEY = Symbol.for("mqtt-authd.test.global-setup");
const registry = globalThis as unknown as Record<symbol, Shared | undefined>;

function startOnce(): Shared {
  // Tests that spawn the real `mqtt-authd` process run the compiled dist/: build it first.
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  const given = process.env.MQTT_AUTHD_TEST_PG_URL;
  if (given !== undefined && given !== "") return { pgAdminUrl: given, users: 0, stop: () => {} };
  // No server given (CI gives one, see .ci/run): a throwaway cluster with .ci/postgres.sh.
  const parent = mkdtempSync(join(tmpdir(), "mqtt-authd-pg-"));
  chmodSync(parent, 0o711); // as root the server runs as the postgres user, which must reach it
  const dir = join(parent, "cluster");
  const url = execFileSync("bash", [".ci/postgres.sh", "start", dir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  return {
    pgAdminUrl: url,
    users: 0,
    stop: () => {
      execFileSync("bash", [".ci/postgres.sh", "stop", dir], { stdio: "inherit" });
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

/** Every test database is a copy of this one, migrated once per run (CREATE DATABASE … TEMPLATE). */
export const PG_TEMPLATE_DATABASE = "mqtt_authd_test_template";

async function createTemplate(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${PG_TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${PG_TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${PG_TEMPLATE_DATABASE}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  try {
    await migratePostgres(pool);
  } finally {
    await pool.end(); // a template must have no connections when it is copied
  }
}

/**
 * Builds dist/ and provides the PostgreSQL cluster the tests create their databases in:
 * MQTT_AUTHD_TEST_PG_URL when set, otherwise one started here and removed at the end.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  let shared = registry[KEY];
  if (shared === undefined) {
    shared = startOnce();
    registry[KEY] = shared;
    await createTemplate(shared.pgAdminUrl);
  }
  shared.users += 1;
  project.provide("pgAdminUrl", shared.pgAdminUrl);
  return () => {
    shared.users -= 1;
    if (shared.users > 0) return;
    registry[KEY] = undefined;
    shared.stop();
  };
}
