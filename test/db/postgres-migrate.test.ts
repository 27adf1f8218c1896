import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  loadMigrations,
  type Migration,
  migrate,
  migrationsDir,
  SchemaTooNewError,
} from "../../src/db/migrate.js";
import {
  loadPostgresMigrations,
  MIGRATION_LOCK_KEY,
  migratePostgres,
} from "../../src/db/postgres/migrate.js";
import { openPostgresPool } from "../../src/db/postgres/open.js";
import { createPgDatabase, type PgTestDatabase } from "../helpers/pg.js";

let database: PgTestDatabase;
const pools: pg.Pool[] = [];
const open = (max = 2) => {
  const pool = openPostgresPool(database.url, { max });
  pools.push(pool);
  return pool;
};

beforeEach(async () => {
  database = await createPgDatabase();
});
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.end();
  await database.drop();
});

const latest = loadPostgresMigrations().length;

const applied = async (pool: pg.Pool) =>
  (
    await pool.query<{ version: number; name: string }>(
      "SELECT version, name FROM schema_migrations ORDER BY version",
    )
  ).rows;

const advisoryLocksHeld = async (pool: pg.Pool) =>
  Number(
    (
      await pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      )
    ).rows[0]!.n,
  );

/** Columns of every table and view, as (relation, column) in order: the names admins and tests rely on. */
function sqliteColumns(): string[] {
  const db = new Database(":memory:");
  try {
    migrate(db);
    const relations = db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .pluck()
      .all() as string[];
    return relations.flatMap((r) =>
      (db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).pluck().all(r) as string[]).map(
        (c) => `${r}.${c}`,
      ),
    );
  } finally {
    db.close();
  }
}

async function postgresColumns(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ c: string }>(
    `SELECT table_name || '.' || column_name AS c FROM information_schema.columns
     WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  return rows.map((r) => r.c);
}

describe("loadPostgresMigrations", () => {
  it("ships the same numbered plan, file for file, as SQLite", () => {
    expect(loadPostgresMigrations().map((m) => m.name)).toEqual(loadMigrations().map((m) => m.name));
    expect(loadMigrations(migrationsDir("postgres")).map((m) => m.version)).toEqual(
      loadPostgresMigrations().map((_, i) => i + 1),
    );
    expect(migrationsDir("sqlite")).toMatch(/migrations[/\\]sqlite[/\\]?$/);
  });
});

describe("migratePostgres", () => {
  it("creates the schema on an empty database: the same tables, views and columns as SQLite", async () => {
    const pool = open();
    expect(await migratePostgres(pool)).toEqual({ from: 0, to: latest });
    expect(await applied(pool)).toEqual(
      loadPostgresMigrations().map((m) => ({ version: m.version, name: m.name })),
    );
    expect(await postgresColumns(pool)).toEqual(sqliteColumns());
    expect(await advisoryLocksHeld(pool)).toBe(0);
  });

  it("does nothing on an up-to-date database, keeping its rows", async () => {
    const pool = open();
    await migratePostgres(pool);
    await pool.query(
      `INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, created_at, updated_at,
         password_changed_at) VALUES ('keep', 'h', 'argon2id', 'chosen', now(), now(), now())`,
    );
    expect(await migratePostgres(pool)).toEqual({ from: latest, to: latest });
    expect(await migratePostgres(open())).toEqual({ from: latest, to: latest });
    expect(await applied(pool)).toHaveLength(latest);
    expect((await pool.query("SELECT username FROM mqtt_clients")).rows).toEqual([{ username: "keep" }]);
  });

  it("applies only the pending migrations of an older database", async () => {
    const migrations = loadPostgresMigrations();
    const pool = open();
    expect(await migratePostgres(pool, migrations.slice(0, 2))).toEqual({ from: 0, to: 2 });
    expect(await migratePostgres(pool, migrations)).toEqual({ from: 2, to: latest });
    expect((await applied(pool)).map((m) => m.version)).toEqual(migrations.map((m) => m.version));
  });

  it("serializes replicas starting together on an empty database: one migrates, the other finds nothing to do", async () => {
    const results = await Promise.all([
      migratePostgres(open()),
      migratePostgres(open()),
      migratePostgres(open()),
    ]);
    expect(results.map((r) => r.to)).toEqual([latest, latest, latest]);
    expect(results.filter((r) => r.from === 0)).toHaveLength(1);
    expect(results.filter((r) => r.from === latest)).toHaveLength(2);
    const pool = open();
    expect(await applied(pool)).toHaveLength(latest);
    expect(await advisoryLocksHeld(pool)).toBe(0);
  });

  it("waits for another holder of the migration lock", async () => {
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
      let done = false;
      const migrating = migratePostgres(open()).then((r) => {
        done = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
      expect(await migrating).toEqual({ from: 0, to: latest });
    } finally {
      await holder.end();
    }
  });

  it("refuses a database from a newer schema with SchemaTooNewError, leaves it as it was and releases the lock", async () => {
    const pool = open();
    await migratePostgres(pool);
    await pool.query(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', now())",
      [latest + 1],
    );
    await expect(migratePostgres(pool)).rejects.toThrow(SchemaTooNewError);
    await expect(migratePostgres(pool)).rejects.toThrow(
      `database schema version ${latest + 1} is newer than this release supports (${latest}); upgrade mqtt-authd`,
    );
    expect(await applied(pool)).toHaveLength(latest + 1);
    expect(await advisoryLocksHeld(pool)).toBe(0);
  });

  it("rolls back a migration that fails halfway, keeping the ones before it", async () => {
    const migrations: Migration[] = [
      ...loadPostgresMigrations(),
      {
        version: latest + 1,
        name: "broken",
        sql: "CREATE TABLE half_done (id integer); INSERT INTO no_such_table VALUES (1);",
      },
    ];
    const pool = open();
    await expect(migratePostgres(pool, migrations)).rejects.toThrow(/no_such_table/);
    expect(await applied(pool)).toHaveLength(latest);
    expect((await pool.query("SELECT to_regclass('half_done') AS t")).rows).toEqual([{ t: null }]);
    expect(await advisoryLocksHeld(pool)).toBe(0);
    expect(await migratePostgres(pool)).toEqual({ from: latest, to: latest });
  });
});

describe("the PostgreSQL schema", () => {
  let pool: pg.Pool;
  beforeEach(async () => {
    pool = open();
    await migratePostgres(pool);
  });

  const client = (username: string, extra = "") =>
    pool.query(
      `INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, created_at, updated_at,
         password_changed_at ${extra ? ", is_enabled, expires_at, last_login_at" : ""})
       VALUES ($1, 'h', 'argon2id', 'imported', now(), now(), now() ${extra})`,
      [username],
    );

  it("answers the admin views", async () => {
    await client("on");
    await client("off", ", false, NULL, now()");
    await client("gone", ", true, now() - interval '1 day', NULL");
    await pool.query(
      `INSERT INTO login_lockouts VALUES ('username', 'on', '', 5, 1, now(), now() + interval '1 hour'),
         ('peerhost', '', '10.0.0.1', 5, 1, now() - interval '2 hours', now() - interval '1 hour')`,
    );
    await pool.query(
      "INSERT INTO login_failures (at, username, peerhost, clientid, reason) VALUES (now(), 'x', '10.0.0.1', 'c', 'unknown_user')",
    );
    const overview = await pool.query("SELECT username, state FROM clients_overview ORDER BY username");
    expect(overview.rows).toEqual([
      { username: "gone", state: "expired" },
      { username: "off", state: "disabled" },
      { username: "on", state: "active" },
    ]);
    expect((await pool.query("SELECT scope, username FROM active_lockouts")).rows).toEqual([
      { scope: "username", username: "on" },
    ]);
    expect((await pool.query("SELECT username, reason FROM recent_login_failures")).rows).toEqual([
      { username: "x", reason: "unknown_user" },
    ]);
    expect((await pool.query("SELECT * FROM hash_formats_in_use")).rows).toEqual([
      { hash_format: "argon2id", clients: "3", never_logged_in: "2", imported: "3" },
    ]);
    expect((await pool.query("SELECT count(*) AS n FROM effective_acl")).rows).toEqual([{ n: "0" }]);
  });

  it("bumps acl_generation once per statement that changed rows, however many", async () => {
    const generation = async () =>
      Number((await pool.query<{ g: string }>("SELECT generation AS g FROM acl_generation")).rows[0]!.g);
    await pool.query("INSERT INTO acl_roles (name, created_at, updated_at) VALUES ('r', now(), now())");
    expect(await generation()).toBe(1);
    await pool.query(
      `INSERT INTO acl_rules (role_name, position, permission, action, topic)
       SELECT 'r', g, 'allow', 'publish', 't/' || g FROM generate_series(1, 2000) AS g`,
    );
    expect(await generation()).toBe(2);
    await pool.query("UPDATE acl_rules SET topic = topic || '/x'");
    await pool.query("DELETE FROM acl_rules");
    expect(await generation()).toBe(4);
    await client("dev1");
    await pool.query(
      "INSERT INTO client_roles (client_username, role_name, position) VALUES ('dev1', 'r', 1)",
    );
    expect(await generation()).toBe(5);
    await pool.query("UPDATE mqtt_clients SET description = 'not an ACL change'");
    expect(await generation()).toBe(5);
    // A statement that changed no row is no change: a refused request leaves the database as it was.
    await pool.query("DELETE FROM acl_roles WHERE name = 'nope'");
    await pool.query("UPDATE client_roles SET position = 2 WHERE role_name = 'nope'");
    await pool.query("DELETE FROM acl_rules");
    expect(await generation()).toBe(5);
    // Cascades count: deleting the client removes its assignment.
    await pool.query("DELETE FROM mqtt_clients WHERE username = 'dev1'");
    expect(await generation()).toBe(6);
    await pool.query("TRUNCATE acl_rules");
    expect(await generation()).toBe(7);
  });

  it("keeps the CHECK constraints and keys of the SQLite schema", async () => {
    const bad = [
      "INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, created_at, updated_at, password_changed_at) VALUES ('u', 'h', 'f', 'stolen', now(), now(), now())",
      "INSERT INTO admin_tokens (name, token_sha256, scope, created_at) VALUES ('t', 'h', 'root', now())",
      "INSERT INTO acl_roles (name, created_at, updated_at) VALUES ('r', now(), now()); INSERT INTO acl_rules (role_name, position, permission, action, topic) VALUES ('r', 0, 'allow', 'publish', 't')",
      "INSERT INTO acl_rules (role_name, position, permission, action, topic, qos) VALUES ('r', 1, 'allow', 'publish', 't', '1,0')",
      "INSERT INTO acl_rules (position, permission, action, topic) VALUES (1, 'allow', 'publish', 't')",
      "INSERT INTO login_lockouts VALUES ('everyone', '', '', 1, 1, now(), now())",
      "INSERT INTO audit_log (at, actor, action, details) VALUES (now(), 'a', 'x', '[1]')",
      "INSERT INTO acl_generation VALUES (2, 0)",
    ];
    for (const sql of bad) await expect(pool.query(sql), sql).rejects.toThrow(/violates/);
    const indexes = (
      await pool.query<{ indexname: string; indexdef: string }>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()",
      )
    ).rows;
    expect(indexes.map((i) => i.indexname)).toEqual(
      expect.arrayContaining([
        "mqtt_clients_by_created_at",
        "audit_log_by_target",
        "client_roles_by_role",
        "acl_roles_by_default",
        "login_failures_by_at",
        "login_failures_by_username",
        "login_lockouts_by_peerhost",
      ]),
    );
    expect(indexes.find((i) => i.indexname === "acl_roles_by_default")?.indexdef).toMatch(/WHERE is_default/);
  });
});
