import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Express } from "express";
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { buildHttpApp, openServices, type Services } from "../../src/service.js";

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
  readonly app: Express;
  /** Every log line the service wrote, for tests that prove a secret never reaches the logs. */
  readonly logs: string[];
  close(): Promise<void>;
}

/** A fresh database in a temporary folder, migrated, with the services and the HTTP app over it. */
export async function createTestContext(env: Record<string, string> = {}): Promise<TestContext> {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-authd-test-"));
  const config = loadConfig({
    MQTT_AUTHD_DB: join(dir, "test.db"),
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
  return {
    dir,
    config,
    services,
    app,
    logs,
    async close() {
      await services.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const hookHeaders = { [SECRET_HEADER]: HOOK_SECRET };
