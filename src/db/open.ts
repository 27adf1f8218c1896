import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/** Written into the SQLite header by the first migration: tells our files from foreign ones. */
export const APPLICATION_ID = 0x4d514144; // "MQAD"

export type Db = Database.Database;

export class DatabaseOpenError extends Error {
  override readonly name = "DatabaseOpenError";
}

/**
 * Opens (creating if needed) the SQLite database with the pragmas the service relies on.
 *
 * synchronous=FULL in WAL mode: every acknowledged provisioning write is fsynced before the 2xx, so it
 * survives a process crash and a power loss. The hot path does not pay for it: its writes (last login)
 * are batched off the request.
 */
export function openDatabase(
  path: string,
  options: {
    readonly?: boolean /** Refuse, before writing anything, a schema newer than this. */;
    maxSchemaVersion?: number;
  } = {},
): Db {
  const isMemory = path === ":memory:";
  if (!isMemory && !options.readonly) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Created readable by the service's user only, whatever the umask or the folder (it holds the
    // password hashes). SQLite gives its -wal and -shm files the database file's permissions.
    if (!existsSync(path)) closeSync(openSync(path, "a", 0o600));
  }
  if (!isMemory && options.readonly && !existsSync(path)) {
    throw new DatabaseOpenError(`database ${path} does not exist`);
  }
  let db: Db;
  try {
    db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    });
  } catch (err) {
    throw new DatabaseOpenError(`cannot open database ${path}: ${(err as Error).message}`);
  }
  try {
    // Reading the schema is the first thing that touches the file's contents: a corrupt or
    // non-SQLite file fails here, before any pragma could write to it.
    const appId = db.pragma("application_id", { simple: true }) as number;
    const objects = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
    if (appId !== APPLICATION_ID && objects.n > 0) {
      throw new DatabaseOpenError(
        `${path} is an SQLite database, but not an mqtt-authd one (application_id ${appId}); refusing to touch it`,
      );
    }
    const schemaVersion = db.pragma("user_version", { simple: true }) as number;
    if (options.maxSchemaVersion !== undefined && schemaVersion > options.maxSchemaVersion) {
      throw new DatabaseOpenError(
        `database schema version ${schemaVersion} is newer than this release supports (${options.maxSchemaVersion}); upgrade mqtt-authd`,
      );
    }
    db.pragma("busy_timeout = 5000");
    if (!options.readonly) {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
    }
    db.pragma("foreign_keys = ON");
    return db;
  } catch (err) {
    db.close();
    if (err instanceof DatabaseOpenError) throw err;
    throw new DatabaseOpenError(`${path} is not a usable SQLite database: ${(err as Error).message}`);
  }
}
