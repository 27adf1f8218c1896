import type pg from "pg";
import { loadMigrations as loadFrom, type Migration, migrationsDir, SchemaTooNewError } from "../migrate.js";
import { connectPool } from "./open.js";

/** migrations/postgres/: the same numbered plan as SQLite's, written for PostgreSQL. */
export function loadPostgresMigrations(): Migration[] {
  return loadFrom(migrationsDir("postgres"));
}

/**
 * The session-level advisory lock that serializes migrations: "MQADmigr" as a signed 64-bit key.
 * Replicas starting together on an empty database wait for each other; the later ones find
 * nothing left to do.
 */
export const MIGRATION_LOCK_KEY = "5571305976183220082"; // 0x4d5141446d696772

const CREATE_SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version     integer     NOT NULL PRIMARY KEY,
  name        text        NOT NULL,
  applied_at  timestamptz NOT NULL
)`;

async function currentVersion(client: pg.PoolClient): Promise<number> {
  const { rows } = await client.query<{ v: number }>(
    "SELECT coalesce(max(version), 0)::integer AS v FROM schema_migrations",
  );
  return rows[0]?.v ?? 0;
}

/**
 * Applies pending migrations, each in its own transaction, holding an advisory lock on one
 * connection throughout. Refuses a database written by a newer release (SchemaTooNewError, as for
 * SQLite): running old code on it could corrupt it.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly Migration[] = loadPostgresMigrations(),
): Promise<{ from: number; to: number }> {
  const latest = migrations.length;
  const client = await connectPool(pool);
  let broken: Error | undefined;
  let locked = false;
  try {
    // A migration (or waiting for another replica's) may take longer than a request's statement.
    await client.query("SET statement_timeout = 0");
    await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    locked = true;
    await client.query(CREATE_SCHEMA_MIGRATIONS);
    const from = await currentVersion(client);
    if (from > latest) {
      throw new SchemaTooNewError(
        `database schema version ${from} is newer than this release supports (${latest}); upgrade mqtt-authd`,
      );
    }
    for (const m of migrations) {
      if (m.version <= from) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
          [m.version, m.name],
        );
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch((rollbackErr: Error) => {
          broken = rollbackErr;
        });
        throw err;
      }
    }
    return { from, to: await currentVersion(client) };
  } finally {
    if (locked && broken === undefined) {
      await client
        .query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY])
        .catch((err: Error) => {
          broken = err;
        });
    }
    if (broken === undefined) {
      await client.query("RESET statement_timeout").catch((err: Error) => {
        broken = err;
      });
    }
    // A connection in an unknown state is closed rather than pooled: that also frees the lock.
    client.release(broken ?? false);
  }
}
