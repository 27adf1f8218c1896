import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { migrate } from "../../src/db/migrate.js";
import { DatabaseOpenError, openDatabase } from "../../src/db/open.js";
import { createLogger } from "../../src/logger.js";
import { openServices } from "../../src/service.js";
import { FAST_ARGON2_ENV } from "../helpers/context.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mqtt-authd-open-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Random bytes that cannot pass for an SQLite header ("SQLite format 3\0"). */
function corruptFile(path: string): Buffer {
  const bytes = Buffer.concat([Buffer.from("not a database!\0"), randomBytes(8192)]);
  writeFileSync(path, bytes);
  return bytes;
}

function foreignDatabase(path: string): Buffer {
  const db = new Database(path);
  db.exec(
    "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL); INSERT INTO invoices VALUES (1, 9.5);",
  );
  db.close();
  return readFileSync(path);
}

const openServicesOn = (dbPath: string) =>
  openServices(loadConfig({ MQTT_AUTHD_DB: dbPath, ...FAST_ARGON2_ENV }), createLogger("silent"));

describe("openDatabase", () => {
  it("sets WAL, foreign keys, synchronous=FULL and a busy timeout", () => {
    const db = openDatabase(join(dir, "a.db"));
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
      expect(db.pragma("synchronous", { simple: true })).toBe(2);
      expect(db.pragma("busy_timeout", { simple: true })).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it("creates the database's missing parent directories", () => {
    const path = join(dir, "nested", "deeper", "a.db");
    openDatabase(path).close();
    expect(readFileSync(path).length).toBeGreaterThan(0);
  });

  it("refuses a corrupt file with a clear message and leaves its bytes unchanged", () => {
    const path = join(dir, "corrupt.db");
    const bytes = corruptFile(path);
    expect(() => openDatabase(path)).toThrow(DatabaseOpenError);
    expect(() => openDatabase(path)).toThrow(/not a usable SQLite database/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("refuses another application's SQLite database and leaves its bytes unchanged", () => {
    const path = join(dir, "foreign.db");
    const bytes = foreignDatabase(path);
    expect(() => openDatabase(path)).toThrow(DatabaseOpenError);
    expect(() => openDatabase(path)).toThrow(/not an mqtt-authd one/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("opens its own migrated database again", () => {
    const path = join(dir, "own.db");
    const db = openDatabase(path);
    migrate(db);
    db.close();
    expect(() => openDatabase(path).close()).not.toThrow();
  });

  it("refuses to open a missing database read-only", () => {
    expect(() => openDatabase(join(dir, "absent.db"), { readonly: true })).toThrow(DatabaseOpenError);
  });
});

describe("openServices on a database it must not use", () => {
  it("fails on a corrupt file, leaving its bytes unchanged", async () => {
    const path = join(dir, "corrupt.db");
    const bytes = corruptFile(path);
    await expect(openServicesOn(path)).rejects.toThrow(DatabaseOpenError);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("fails on a foreign database, leaving its bytes and rows unchanged", async () => {
    const path = join(dir, "foreign.db");
    const bytes = foreignDatabase(path);
    await expect(openServicesOn(path)).rejects.toThrow(/not an mqtt-authd one/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });
});
