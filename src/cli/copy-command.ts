import { parseArgs } from "node:util";
import type pg from "pg";
import { type Config, describeDatabase, isPostgresUrl } from "../config.js";
import { copySqliteToPostgres } from "../db/copy.js";
import { openMigratedPostgres, openMigratedSqlite } from "../db/open-store.js";
import { redactDbUrl } from "../db/postgres/open.js";
import { cliActor } from "./actor.js";
import { type CliIo, UsageError } from "./commands.js";

const USAGE =
  "usage: mqtt-authd copy --to postgres://USER@HOST:PORT/DB   (password from PGPASSWORD or ~/.pgpass)\n" +
  "       MQTT_AUTHD_COPY_TO_FILE=FILE mqtt-authd copy            (a URL with its password, read from FILE)";

/** A password in argv is readable by every local user in `ps` and /proc/<pid>/cmdline. */
function hasPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== "" || u.searchParams.has("password");
  } catch {
    return /:[^/@]*@/.test(url);
  }
}

/**
 * `mqtt-authd copy`: the configured SQLite database (MQTT_AUTHD_DB) into an empty PostgreSQL one,
 * migrated first. The source may stay in service meanwhile; it is read in one snapshot.
 */
export async function runCopyCommand(config: Config, io: CliIo, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { to: { type: "string" } } });
  if (values.to !== undefined && config.copyTo !== undefined) {
    throw new UsageError(`give the target once: --to or MQTT_AUTHD_COPY_TO(_FILE)\n${USAGE}`);
  }
  const target = values.to ?? config.copyTo;
  if (target === undefined) throw new UsageError(USAGE);
  if (!isPostgresUrl(target)) throw new UsageError(`--to must be a postgres:// URL\n${USAGE}`);
  if (values.to !== undefined && hasPassword(values.to)) {
    throw new UsageError(
      `refusing a password on the command line (every local user can read it in ps); use PGPASSWORD, ~/.pgpass or MQTT_AUTHD_COPY_TO_FILE\n${USAGE}`,
    );
  }
  if (config.database.kind !== "sqlite") {
    throw new UsageError("copy reads an SQLite database: set MQTT_AUTHD_DB to its path");
  }
  const { db: source } = openMigratedSqlite(config.database.path);
  let pool: pg.Pool | undefined;
  try {
    ({ pool } = await openMigratedPostgres(target, 1));
    const counts = await copySqliteToPostgres(source, pool, {
      actor: cliActor(),
      action: "database.copy",
      target: null,
      details: { from: describeDatabase(config.database) },
    });
    for (const [table, n] of Object.entries(counts)) io.out(`${table}\t${n}`);
    io.out(`copied ${describeDatabase(config.database)} → ${redactDbUrl(target)}`);
    return 0;
  } finally {
    source.close();
    await pool?.end();
  }
}
