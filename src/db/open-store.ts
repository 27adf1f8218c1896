import type { Logger } from "pino";
import { type DatabaseConfig, describeDatabase } from "../config.js";
import type { Store } from "../store/types.js";
import { loadMigrations, migrate, migrationsDir } from "./migrate.js";
import { openDatabase } from "./open.js";
import { migratePostgres } from "./postgres/migrate.js";
import { openPostgresPool } from "./postgres/open.js";
import { createPostgresStore } from "./postgres/store.js";
import { createSqliteStore } from "./sqlite-store.js";

/**
 * The one place that picks the storage engine: SQLite for a path (embedded default), PostgreSQL for
 * a postgres:// URL (several replicas on one database). Pending migrations are applied first; a
 * database written by a newer release is refused before anything is written.
 */
export async function openStore(database: DatabaseConfig, logger: Logger): Promise<Store> {
  const where = describeDatabase(database);
  if (database.kind === "sqlite") {
    const db = openDatabase(database.path, { maxSchemaVersion: loadMigrations().length });
    try {
      const { from, to } = migrate(db);
      if (from !== to) logger.info({ from, to, db: where }, "database migrated");
    } catch (err) {
      db.close();
      throw err;
    }
    return createSqliteStore(db);
  }
  const pool = openPostgresPool(database.url, { max: database.poolSize });
  try {
    const { from, to } = await migratePostgres(pool, loadMigrations(migrationsDir("postgres")));
    if (from !== to) logger.info({ from, to, db: where }, "database migrated");
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  return createPostgresStore(pool);
}

/** `mqtt-authd migrate`: applies pending migrations and closes. */
export async function migrateOnly(database: DatabaseConfig): Promise<{ from: number; to: number }> {
  if (database.kind === "sqlite") {
    const db = openDatabase(database.path, { maxSchemaVersion: loadMigrations().length });
    try {
      return migrate(db);
    } finally {
      db.close();
    }
  }
  const pool = openPostgresPool(database.url, { max: 1 });
  try {
    return await migratePostgres(pool, loadMigrations(migrationsDir("postgres")));
  } finally {
    await pool.end();
  }
}
