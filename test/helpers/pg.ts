import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

/** Must match test/global-setup.ts (which runs outside the test workers). */
const PG_TEMPLATE_DATABASE = "mqtt_authd_test_template";

export interface PgTestDatabase {
  /** Connection URL of the new database. */
  readonly url: string;
  drop(): Promise<void>;
}

/** The superuser URL of the test cluster (see test/global-setup.ts). */
export function pgAdminUrl(): string {
  return inject("pgAdminUrl");
}

async function asAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgAdminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database in the test cluster, dropped (connections and all) at the end: empty, or a copy
 * of the template global setup migrated once (`migrated`: what most tests want, and much faster
 * than migrating every time; the service still checks and applies migrations on it as on any).
 */
export async function createPgDatabase(opts: { migrated?: boolean } = {}): Promise<PgTestDatabase> {
  const name = `mqtt_authd_test_${randomBytes(6).toString("hex")}`;
  const template = opts.migrated ? ` TEMPLATE ${PG_TEMPLATE_DATABASE}` : "";
  await asAdmin((c) => c.query(`CREATE DATABASE ${name}${template}`));
  const url = new URL(pgAdminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await asAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
