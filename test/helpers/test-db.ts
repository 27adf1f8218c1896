import Database from "better-sqlite3";
import pg from "pg";
import type { DatabaseConfig } from "../../src/config.js";

/**
 * What an admin sees with `sqlite3` or `psql`, for tests that run against either store: plain
 * queries with `?` placeholders, answered in SQLite's shapes whichever engine is underneath
 * (PostgreSQL booleans as 1/0, times as ISO strings, bigints as numbers, jsonb as JSON text), so
 * one assertion holds for both.
 */
export interface TestDb {
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  auditRows(): Promise<AuditRow[]>;
  /** Every row of every table as text: for proving a secret was never stored anywhere. */
  dumpAllTables(): Promise<string>;
  /**
   * A fingerprint of the whole database for proving a rejected request changed nothing: every row of
   * every table in a stable order. `summarized` tables count rows only (append-only logs);
   * `excluded` tables and `ignoredColumns` are left out (bookkeeping any request updates by design).
   */
  snapshot(opts?: SnapshotOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SnapshotOptions {
  summarized?: readonly string[];
  excluded?: readonly string[];
  ignoredColumns?: Readonly<Record<string, readonly string[]>>;
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  details: string;
}

const PG_TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    switch (oid) {
      case 16: // bool
        return (v: string) => (v === "t" ? 1 : 0);
      case 20: // int8
      case 1700: // numeric (sum() of integers)
        return (v: string) => Number(v);
      case 1184: // timestamptz
        return (v: string) => new Date(v).toISOString();
      case 3802: // jsonb
      case 114: // json
        return (v: string) => JSON.stringify(JSON.parse(v));
      default:
        return pg.types.getTypeParser(oid, format);
    }
  },
};

function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export function openTestDb(database: DatabaseConfig): TestDb {
  return database.kind === "sqlite" ? sqliteTestDb(database.path) : postgresTestDb(database.url);
}

function sqliteTestDb(path: string): TestDb {
  let db: Database.Database | null = null;
  const conn = () => {
    db ??= new Database(path, { readonly: true, fileMustExist: true });
    return db;
  };
  const tables = () =>
    conn()
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .pluck()
      .all() as string[];
  const self: TestDb = {
    async query<T>(sql: string, ...params: unknown[]) {
      return conn()
        .prepare(sql)
        .all(...params) as T[];
    },
    async auditRows() {
      return self.query<AuditRow>("SELECT * FROM audit_log ORDER BY id");
    },
    async dumpAllTables() {
      return JSON.stringify(tables().map((t) => conn().prepare(`SELECT * FROM "${t}"`).all()));
    },
    async snapshot(opts = {}) {
      const out: Record<string, unknown> = {};
      for (const name of tables()) {
        if (opts.excluded?.includes(name)) continue;
        if (opts.summarized?.includes(name)) {
          out[name] = conn().prepare(`SELECT count(*) AS n FROM "${name}"`).get();
          continue;
        }
        const ignored = opts.ignoredColumns?.[name] ?? [];
        out[name] = (
          conn().prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all() as Record<string, unknown>[]
        ).map((row) =>
          Object.fromEntries(Object.entries(row).filter(([column]) => !ignored.includes(column))),
        );
      }
      return JSON.stringify(out);
    },
    async close() {
      db?.close();
      db = null;
    },
  };
  return self;
}

function postgresTestDb(url: string): TestDb {
  const pool = new pg.Pool({ connectionString: url, max: 2, types: PG_TYPES });
  const tables = async () =>
    (
      await pool.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
      )
    ).rows.map((r) => r.name);
  // Physical order changes when PostgreSQL rewrites a row; the primary key orders rows stably.
  const orderBy = async (table: string) => {
    const { rows } = await pool.query<{ column: string }>(
      `SELECT a.attname AS column FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      [`"${table}"`],
    );
    return rows.length > 0 ? `ORDER BY ${rows.map((r) => `"${r.column}"`).join(", ")}` : "";
  };
  const self: TestDb = {
    async query<T>(sql: string, ...params: unknown[]) {
      return (await pool.query(toPgPlaceholders(sql), params)).rows as T[];
    },
    async auditRows() {
      return self.query<AuditRow>("SELECT * FROM audit_log ORDER BY id");
    },
    async dumpAllTables() {
      const out = [];
      for (const t of await tables()) out.push((await pool.query(`SELECT * FROM "${t}"`)).rows);
      return JSON.stringify(out);
    },
    async snapshot(opts = {}) {
      const out: Record<string, unknown> = {};
      for (const name of await tables()) {
        if (opts.excluded?.includes(name)) continue;
        if (opts.summarized?.includes(name)) {
          out[name] = (await pool.query(`SELECT count(*) AS n FROM "${name}"`)).rows[0];
          continue;
        }
        const ignored = opts.ignoredColumns?.[name] ?? [];
        const { rows } = await pool.query<Record<string, unknown>>(
          `SELECT * FROM "${name}" ${await orderBy(name)}`,
        );
        out[name] = rows.map((row) =>
          Object.fromEntries(Object.entries(row).filter(([column]) => !ignored.includes(column))),
        );
      }
      return JSON.stringify(out);
    },
    async close() {
      await pool.end();
    },
  };
  return self;
}
