import Database from "better-sqlite3";

/**
 * A fingerprint of the whole database, for proving a rejected request changed nothing: every row of
 * every table, read beside the running service. `summarized` tables count as (row count, max rowid)
 * only (append-only logs that may be large); `excluded` tables and `ignoredColumns` are left out
 * (bookkeeping such as a token's last use, which any authenticated request updates by design).
 */
export function openDbState(
  path: string,
  opts: {
    summarized?: readonly string[];
    excluded?: readonly string[];
    ignoredColumns?: Readonly<Record<string, readonly string[]>>;
  } = {},
) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const summarized = new Set(opts.summarized ?? []);
  return {
    snapshot(): string {
      const tables = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .pluck()
        .all() as string[];
      const out: Record<string, unknown> = {};
      for (const name of tables) {
        if (opts.excluded?.includes(name)) continue;
        if (summarized.has(name)) {
          out[name] = db.prepare(`SELECT count(*) AS n, max(rowid) AS last FROM "${name}"`).get();
          continue;
        }
        const ignored = opts.ignoredColumns?.[name] ?? [];
        out[name] = (
          db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all() as Record<string, unknown>[]
        ).map((row) =>
          Object.fromEntries(Object.entries(row).filter(([column]) => !ignored.includes(column))),
        );
      }
      return JSON.stringify(out);
    },
    close(): void {
      db.close();
    },
  };
}
