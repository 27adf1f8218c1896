import Database from "better-sqlite3";
import type { AuditRow } from "./test-db.js";

/** Opens the service's database read-only beside the running service, as an admin with sqlite3 would. */
export function withReadonlyDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export type { AuditRow } from "./test-db.js";

export function auditRows(path: string): AuditRow[] {
  return withReadonlyDb(path, (db) => db.prepare("SELECT * FROM audit_log ORDER BY id").all() as AuditRow[]);
}

/** Every row of every table as text: for proving a secret was never stored anywhere. */
export function dumpAllTables(path: string): string {
  return withReadonlyDb(path, (db) => {
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[];
    return JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM "${t.name}"`).all()));
  });
}
