import type pg from "pg";
import type { Logger } from "pino";
import { type DatabaseConfig, describeDatabase } from "../config.js";
import type { Store } from "../store/types.js";
import { loadMigrations, migrate } from "./migrate.js";
import { type Db, openDatabase } from "./open.js";
import { loadPostgresMigrations, migratePostgres } from "./postgres/migrate.js";
import { openPostgresPool } from "./postgres/open.js";
import { createPostgresStore } from "./postgres/store.js";
import { createSqliteStore } from "./sqlite-store.js";

/**
 * The one place that picks the storage engine: SQLite for a path (embedded default), PostgreSQL for
 * a postgres:// URL (several replicas on one database). Pending migrations are applied first; a
 * database written by a newer release is refused before anything is written.
 */
export async function openStore(database: DatabaseConfig, logger: Logger): Promise<Store> {
  const logMigrated = ({ from, to }: { from: number; to: number }) => {
    if (from !== to) logger.info({ from, to, db: describeDatabase(database) }, "database migrated");
  };
  if (database.kind === "sqlite") {
    const { db, ...migrated } = openMigratedSqlite(database.path);
    logMigrated(migrated);
    return createSqliteStore(db);
  }
  const { pool, ...migrated } = await openMigratedPostgres(database.url, database.poolSize);
  logMigrated(migrated);
  return createPostgresStore(pool);
}

/** `mqtt-authd migrate`: applies pending migrations and closes. */
export async function migrateOnly(database: DatabaseConfig): Promise<{ from: number; to: number }> {
  if (database.kind === "sqlite") {
    const { db, ...migrated } = openMigratedSqlite(database.path);
    db.close();
    return migrated;
  }
  const { pool, ...migrated } = await openMigratedPostgres(database.url, 1);
  await pool.end();
  return migrated;
}

/** Opens an SQLite database and applies pending migrations (closing it again if that fails). */
export function openMigratedSqlite(path: string): { db: Db; from: number; to: number } {
  const db = openDatabase(path, { maxSchemaVersion: loadMigrations().length });
  try {
    return { db, ...migrate(db) };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** A pool on a PostgreSQL database with pending migrations applied (ended again if that fails). */
export async function openMigratedPostgres(
  url: string,
  poolSize: number,
): Promise<{ pool: pg.Pool; from: number; to: number }> {
  const pool = openPostgresPool(url, { max: poolSize });
  try {
    return { pool, ...(await migratePostgres(pool, loadPostgresMigrations())) };
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
}
