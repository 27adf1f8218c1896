import type pg from "pg";
import type { AuditEntry } from "../store/types.js";
import type { Db } from "./open.js";

/**
 * `mqtt-authd copy`: moves a whole SQLite database into an empty PostgreSQL one, for the step from
 * one node to several replicas. Both schemas have the same tables and columns (migrations/sqlite
 * and migrations/postgres follow one plan); only the types differ, so rows are copied column by
 * column and converted where PostgreSQL's type is stricter (0/1 → boolean). Everything lands in one
 * PostgreSQL transaction, read from one SQLite read transaction: a consistent snapshot, taken while
 * the service keeps serving, and all or nothing on the other side.
 */

/** Parents before children (foreign keys); bookkeeping tables (schema_migrations, acl_generation) are the target's own. */
export const COPIED_TABLES = [
  "mqtt_clients",
  "admin_tokens",
  "audit_log",
  "acl_roles",
  "acl_rules",
  "client_roles",
  "login_failures",
  "login_lockouts",
] as const;

const BATCH_ROWS = 500;

export class CopyRefusedError extends Error {
  override readonly name = "CopyRefusedError";
}

interface TargetColumn {
  readonly name: string;
  readonly type: string;
  readonly identity: boolean;
}

async function targetColumns(client: pg.PoolClient, table: string): Promise<TargetColumn[]> {
  const { rows } = await client.query<{ name: string; type: string; identity: string }>(
    `SELECT column_name AS name, data_type AS type, is_identity AS identity
     FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1
     ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => ({ name: r.name, type: r.type, identity: r.identity === "YES" }));
}

function convert(value: unknown, column: TargetColumn): unknown {
  if (value === null || value === undefined) return null;
  if (column.type === "boolean") return value === 1 || value === true;
  return value;
}

/**
 * Copies every row of `source` into the empty, migrated PostgreSQL database behind `target`, and
 * records the copy itself in the target's audit log (same transaction).
 */
export async function copySqliteToPostgres(
  source: Db,
  target: pg.Pool,
  audit: AuditEntry,
): Promise<Record<string, number>> {
  const client = await target.connect();
  const counts: Record<string, number> = {};
  let began = false;
  try {
    await client.query("BEGIN");
    began = true;
    const { rows: existing } = await client.query<{ n: string }>(
      `SELECT ((SELECT count(*) FROM mqtt_clients) + (SELECT count(*) FROM admin_tokens)
             + (SELECT count(*) FROM acl_roles) + (SELECT count(*) FROM audit_log))::text AS n`,
    );
    if (existing[0]?.n !== "0") {
      throw new CopyRefusedError(
        "the target database already holds clients, tokens, roles or audit rows; copy only into an empty one",
      );
    }
    source.exec("BEGIN"); // one read snapshot across every table
    try {
      for (const table of COPIED_TABLES) {
        counts[table] = await copyTable(source, client, table);
      }
    } finally {
      source.exec("COMMIT");
    }
    // Identity columns were copied with their values: move each sequence past the largest one.
    for (const table of COPIED_TABLES) {
      for (const c of await targetColumns(client, table)) {
        if (!c.identity) continue;
        await client.query(
          `SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT max(${c.name}) FROM ${table}), 1), (SELECT max(${c.name}) IS NOT NULL FROM ${table}))`,
          [table, c.name],
        );
      }
    }
    await client.query(
      "INSERT INTO audit_log (at, actor, action, target, details) VALUES (now(), $1, $2, $3, $4)",
      [audit.actor, audit.action, audit.target, JSON.stringify({ ...audit.details, copied: counts })],
    );
    await client.query("COMMIT");
    began = false;
    return counts;
  } catch (err) {
    if (began) await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function copyTable(source: Db, client: pg.PoolClient, table: string): Promise<number> {
  const columns = await targetColumns(client, table);
  const sourceNames = new Set(
    (source.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map(
      (c) => c.name,
    ),
  );
  const missing = columns.filter((c) => !sourceNames.has(c.name));
  if (missing.length > 0) {
    throw new CopyRefusedError(
      `${table}: the source has no column ${missing.map((c) => c.name).join(", ")} (are both databases at the same schema version?)`,
    );
  }
  const names = columns.map((c) => c.name);
  const overriding = columns.some((c) => c.identity) ? " OVERRIDING SYSTEM VALUE" : "";
  const select = source.prepare(
    `SELECT rowid AS _rowid, ${names.map((n) => `"${n}"`).join(", ")} FROM "${table}" WHERE rowid > ? ORDER BY rowid LIMIT ${BATCH_ROWS}`,
  );
  let copied = 0;
  let after = -Infinity;
  for (;;) {
    const rows = select.all(after) as Record<string, unknown>[];
    if (rows.length === 0) return copied;
    const params: unknown[] = [];
    const tuples = rows.map((row) => {
      const slots = columns.map((c) => {
        params.push(convert(row[c.name], c));
        return `$${params.length}`;
      });
      return `(${slots.join(", ")})`;
    });
    await client.query(
      `INSERT INTO ${table} (${names.join(", ")})${overriding} VALUES ${tuples.join(", ")}`,
      params,
    );
    copied += rows.length;
    after = rows.at(-1)!._rowid as number;
  }
}
