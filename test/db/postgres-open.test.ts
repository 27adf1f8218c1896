import { createServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migratePostgres } from "../../src/db/postgres/migrate.js";
import {
  connectPool,
  openPostgresPool,
  PostgresConnectError,
  redactDbUrl,
  STATEMENT_TIMEOUT_MS,
  scrubDbSecrets,
} from "../../src/db/postgres/open.js";
import { createPostgresStore } from "../../src/db/postgres/store.js";
import { createPgDatabase, type PgTestDatabase } from "../helpers/pg.js";

describe("redactDbUrl", () => {
  it.each([
    ["postgres://app:s3cret@db.example:5432/authd", "postgres://app:***@db.example:5432/authd"],
    ["postgresql://app:p%40ss%2Fw@db/authd?sslmode=require", "postgresql://app:***@db/authd?sslmode=require"],
    ["postgres://app:a@b/c@db:5432/authd", "postgres://app:***@db:5432/authd"],
    ["postgres://app@db/authd", "postgres://app@db/authd"],
    ["postgres://db/authd?user=app&password=s3cret&x=1", "postgres://db/authd?user=app&password=***&x=1"],
    ["not a url s3cret", "(unparsable database URL)"],
  ])("%s", (url, redacted) => {
    expect(redactDbUrl(url)).toBe(redacted);
  });

  it("scrubs every form of the password from a message", () => {
    const url = "postgres://app:p%40ss@db/authd";
    expect(scrubDbSecrets(`failed for ${url}: p@ss p%40ss p%2540ss`, url)).toBe(
      "failed for postgres://app:***@db/authd: *** *** ***",
    );
  });
});

/** A port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("openPostgresPool", () => {
  let database: PgTestDatabase;
  beforeEach(async () => {
    database = await createPgDatabase();
  });
  afterEach(async () => {
    await database.drop();
  });

  it("names its connections and caps statements", async () => {
    const pool = openPostgresPool(database.url, { max: 1 });
    try {
      const { rows } = await pool.query(
        "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st",
      );
      expect(rows).toEqual([{ app: "mqtt-authd", st: `${STATEMENT_TIMEOUT_MS / 1000}s` }]);
      await expect(pool.query("SELECT pg_sleep(6)")).rejects.toThrow(/statement timeout/);
    } finally {
      await pool.end();
    }
  }, 20_000);

  it("says it cannot connect, naming the server without the password", async () => {
    const secret = "Sup3r-S3cret-Passw0rd";
    const url = `postgres://app:${secret}@127.0.0.1:${await closedPort()}/authd`;
    const pool = openPostgresPool(url, { max: 1 });
    try {
      const err = await migratePostgres(pool).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PostgresConnectError);
      expect((err as Error).message).toMatch(
        /^cannot connect to postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/authd: /,
      );
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(secret);
      expect(String((err as Error).stack)).not.toContain(secret);
    } finally {
      await pool.end();
    }
  });

  it("keeps a wrong password out of the authentication failure", async () => {
    const wrong = new URL(database.url);
    wrong.password = "Wr0ng-Passw0rd-123";
    const pool = openPostgresPool(wrong.toString(), { max: 1 });
    try {
      const err = (await connectPool(pool).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(PostgresConnectError);
      expect(err.message).toMatch(/password authentication failed/);
      expect(err.message).not.toContain("Wr0ng-Passw0rd-123");
      expect(err.message).not.toContain(new URL(database.url).password);
    } finally {
      await pool.end();
    }
  });

  it("refuses an unparsable URL without echoing it", () => {
    expect(() => openPostgresPool("postgres://app:s3cret@[bad", { max: 1 })).toThrow(PostgresConnectError);
    expect(() => openPostgresPool("postgres://app:s3cret@[bad", { max: 1 })).not.toThrow(/s3cret/);
  });

  it("survives the server dropping an idle connection, and reconnects", async () => {
    const errors: Error[] = [];
    const pool = openPostgresPool(database.url, { max: 1, onIdleError: (e) => errors.push(e) });
    try {
      const { rows } = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const admin = openPostgresPool(database.url, { max: 1 });
      await admin.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
      await admin.end();
      await expect.poll(() => errors.length).toBe(1);
      expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it("leaves backups to pg_dump", async () => {
    const store = createPostgresStore(openPostgresPool(database.url, { max: 1 }));
    try {
      await expect(store.backup("/tmp/x.db")).rejects.toThrow(
        "backup: use pg_dump for a PostgreSQL database (see README)",
      );
      await expect(store.ping()).resolves.toBeUndefined();
    } finally {
      await store.close();
      await store.close();
    }
  });
});
