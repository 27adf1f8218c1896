import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { APPLICATION_ID, type Db } from "./open.js";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export class SchemaTooNewError extends Error {
  override readonly name = "SchemaTooNewError";
}

export type Dialect = "sqlite" | "postgres";

/**
 * Where a dialect's migrations ship: src/db/ and dist/db/ are both two levels below the package
 * root, beside migrations/<dialect>/. Both dialects follow the same numbered plan.
 */
export function migrationsDir(dialect: Dialect): string {
  return fileURLToPath(new URL(`../../migrations/${dialect}/`, import.meta.url));
}

/** Numbered plain .sql files (`0001_init.sql`), in order; a gap or a duplicate number is a packaging bug. */
export function loadMigrations(dir = migrationsDir("sqlite")): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  return files.map((file, i) => {
    const version = Number(file.slice(0, 4));
    if (version !== i + 1)
      throw new Error(`migrations: expected ${String(i + 1).padStart(4, "0")}_*.sql, found ${file}`);
    return { version, name: file.replace(/\.sql$/, ""), sql: readFileSync(`${dir}/${file}`, "utf8") };
  });
}

export function schemaVersion(db: Db): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/**
 * Applies pending migrations, each in its own IMMEDIATE transaction (so two processes starting
 * together serialize on SQLite's write lock and the second finds nothing left to do).
 * Refuses a database written by a newer release: running old code on it could corrupt it.
 */
export function migrate(db: Db, migrations: Migration[] = loadMigrations()): { from: number; to: number } {
  const latest = migrations.length;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new SchemaTooNewError(
      `database schema version ${from} is newer than this release supports (${latest}); upgrade mqtt-authd`,
    );
  }
  for (const m of migrations) {
    db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      db.exec(m.sql);
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
      db.pragma(`user_version = ${m.version}`);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }).immediate();
  }
  return { from, to: schemaVersion(db) };
}
