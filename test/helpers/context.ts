import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { HttpApp } from "../../src/app.js";
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { buildHttpApp, openServices, type Services } from "../../src/service.js";
import { createPgDatabase } from "./pg.js";
import { openTestDb, type TestDb } from "./test-db.js";

export const HOOK_SECRET = "test-hook-secret-0123456789abcdef";
export const ADMIN_TOKEN = "mqa_test-admin-token-0123456789abcdefghijkl";
export const SECRET_HEADER = "x-mqtt-authd-secret";

/** The cheapest argon2id profile: tests exercise logic, not cost (one test keeps production defaults). */
export const FAST_ARGON2_ENV = {
  MQTT_AUTHD_ARGON2_MEMORY_KIB: "1024",
  MQTT_AUTHD_ARGON2_TIME_COST: "1",
  MQTT_AUTHD_ARGON2_GENERATED_MEMORY_KIB: "1024",
  MQTT_AUTHD_ARGON2_GENERATED_TIME_COST: "1",
};

export interface TestContext {
  readonly dir: string;
  readonly config: Config;
  readonly services: Services;
  readonly app: HttpApp;
  /** The database as an admin sees it (sqlite3 or psql), whichever store the test runs on. */
  readonly db: TestDb;
  /** Every log line the service wrote, for tests that prove a secret never reaches the logs. */
  readonly logs: string[];
  close(): Promise<void>;
}

/**
 * Which store the suite runs on: vitest's `postgres` project sets MQTT_AUTHD_TEST_STORE=postgres and
 * runs the same files again (vitest.config.ts), so every HTTP test holds for both stores.
 */
export const TEST_STORE: "sqlite" | "postgres" =
  process.env.MQTT_AUTHD_TEST_STORE === "postgres" ? "postgres" : "sqlite";

/** A fresh database (a temporary SQLite file, or a new PostgreSQL database), migrated, with the services and the HTTP app over it. */
export async function createTestContext(env: Record<string, string> = {}): Promise<TestContext> {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-authd-test-"));
  const pgDb = TEST_STORE === "postgres" ? await createPgDatabase({ migrated: true }) : null;
  const config = loadConfig({
    MQTT_AUTHD_DB: pgDb?.url ?? join(dir, "test.db"),
    MQTT_AUTHD_HOOK_SECRET: HOOK_SECRET,
    MQTT_AUTHD_ADMIN_TOKEN: ADMIN_TOKEN,
    MQTT_AUTHD_LOG_LEVEL: "debug",
    MQTT_AUTHD_LAST_LOGIN_FLUSH_MS: "10",
    ...FAST_ARGON2_ENV,
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const services = await openServices(config, logger);
  const app = await buildHttpApp(services);
  const db = openTestDb(config.database);
  return {
    dir,
    config,
    services,
    app,
    db,
    logs,
    async close() {
      await db.close();
      await services.close();
      await pgDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const hookHeaders = { [SECRET_HEADER]: HOOK_SECRET };

/** The MQTT_AUTHD_DB value of a config: the SQLite path or the PostgreSQL URL (for CLIs and second processes). */
export const dbTarget = (config: Config): string =>
  config.database.kind === "sqlite" ? config.database.path : config.database.url;
