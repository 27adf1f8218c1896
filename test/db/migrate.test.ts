import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  loadMigrations,
  type Migration,
  migrate,
  SchemaTooNewError,
  schemaVersion,
} from "../../src/db/migrate.js";
import { APPLICATION_ID, type Db, openDatabase } from "../../src/db/open.js";

let dir: string;
let dbPath: string;
const opened: Db[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mqtt-authd-migrate-"));
  dbPath = join(dir, "mqtt-authd.db");
});
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(): Db {
  const db = openDatabase(dbPath);
  opened.push(db);
  return db;
}

const latest = loadMigrations().length;

const appliedMigrations = (db: Db) =>
  db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all() as {
    version: number;
    name: string;
  }[];

const tableNames = (db: Db) =>
  (
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
      name: string;
    }[]
  ).map((t) => t.name);

describe("loadMigrations", () => {
  it("numbers the shipped migrations 1..n without gaps", () => {
    const migrations = loadMigrations();
    expect(migrations.length).toBeGreaterThanOrEqual(1);
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    expect(migrations[0]!.name).toBe("0001_init");
  });
});

describe("migrate", () => {
  it("creates the schema on an empty database", () => {
    const db = open();
    expect(migrate(db)).toEqual({ from: 0, to: latest });
    expect(schemaVersion(db)).toBe(latest);
    expect(db.pragma("user_version", { simple: true })).toBe(latest);
    expect(db.pragma("application_id", { simple: true })).toBe(APPLICATION_ID);
    expect(appliedMigrations(db)).toEqual(
      loadMigrations().map((m) => ({ version: m.version, name: m.name })),
    );
    expect(tableNames(db)).toEqual(
      expect.arrayContaining(["mqtt_clients", "admin_tokens", "audit_log", "schema_migrations"]),
    );
  });

  it("does nothing on an up-to-date database, in the same process or after a reopen", () => {
    const db = open();
    migrate(db);
    db.prepare(
      `INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, created_at, updated_at,
         password_changed_at) VALUES ('keep', 'h', 'argon2id', 'chosen', 't', 't', 't')`,
    ).run();
    expect(migrate(db)).toEqual({ from: latest, to: latest });
    db.close();

    const again = open();
    expect(migrate(again)).toEqual({ from: latest, to: latest });
    expect(appliedMigrations(again)).toHaveLength(latest);
    expect(schemaVersion(again)).toBe(latest);
    expect(again.prepare("SELECT username FROM mqtt_clients").all()).toEqual([{ username: "keep" }]);
  });

  it("applies only the pending migrations of an older database", () => {
    const migrations = loadMigrations();
    const db = open();
    expect(migrate(db, migrations.slice(0, 1))).toEqual({ from: 0, to: 1 });
    expect(migrate(db, migrations)).toEqual({ from: 1, to: latest });
    expect(appliedMigrations(db).map((m) => m.version)).toEqual(migrations.map((m) => m.version));
  });

  it("refuses a database from a newer schema with SchemaTooNewError, and leaves it as it was", () => {
    const db = open();
    migrate(db);
    db.pragma(`user_version = ${latest + 1}`);
    expect(() => migrate(db)).toThrow(SchemaTooNewError);
    expect(() => migrate(db)).toThrow(/newer/);
    expect(schemaVersion(db)).toBe(latest + 1);
    expect(appliedMigrations(db)).toHaveLength(latest);
  });

  it("rolls back a migration that fails halfway, keeping the ones before it", () => {
    const migrations: Migration[] = [
      ...loadMigrations(),
      {
        version: latest + 1,
        name: "broken",
        sql: "CREATE TABLE half_done (id INTEGER) STRICT; INSERT INTO no_such_table VALUES (1);",
      },
    ];
    const db = open();
    expect(() => migrate(db, migrations)).toThrow(/no_such_table/);
    expect(schemaVersion(db)).toBe(latest);
    expect(tableNames(db)).not.toContain("half_done");
    expect(appliedMigrations(db)).toHaveLength(latest);
  });

  it("makes every table STRICT", () => {
    const db = open();
    migrate(db);
    const tables = db
      .prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table'")
      .all() as { name: string; strict: number }[];
    const ours = tables.filter((t) => !t.name.startsWith("sqlite_"));
    expect(ours.length).toBeGreaterThanOrEqual(4);
    for (const t of ours) expect({ table: t.name, strict: t.strict }).toEqual({ table: t.name, strict: 1 });
  });

  it("refuses a value of the wrong type, as STRICT tables do", () => {
    const db = open();
    migrate(db);
    const insert = (description: unknown) =>
      db
        .prepare(
          `INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, description,
             created_at, updated_at, password_changed_at) VALUES ('u', 'h', 'argon2id', 'chosen', ?, 't', 't', 't')`,
        )
        .run(description);
    expect(() => insert(Buffer.from([1, 2, 3]))).toThrow(/cannot store BLOB value in TEXT column/);
    expect(() =>
      db
        .prepare(
          `INSERT INTO admin_tokens (name, token_sha256, scope, created_at, revoked_at)
           VALUES ('t', 'h', 'admin', 't', x'00')`,
        )
        .run(),
    ).toThrow(/cannot store BLOB value/);
    expect(() =>
      db
        .prepare(
          "INSERT INTO audit_log (at, actor, action, target, details) VALUES ('t', 'a', 'x', 't', '{}')",
        )
        .run(),
    ).not.toThrow();
    expect(() =>
      db.prepare("INSERT INTO audit_log (id, at, actor, action) VALUES ('one', 't', 'a', 'x')").run(),
    ).toThrow(/datatype mismatch|cannot store/);
  });
});
