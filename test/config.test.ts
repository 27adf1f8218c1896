import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, describeDatabase, loadConfig, threadpoolSize } from "../src/config.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mqtt-authd-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** The ConfigError loadConfig throws for `env`; fails the test if it does not throw one. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("has safe defaults: local-only listener, OWASP argon2id profile, keep-alive above EMQX's 30 s", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      database: { kind: "sqlite", path: "./data/mqtt-authd.db" },
      host: "127.0.0.1",
      port: 8080,
      logLevel: "info",
      hookSecret: undefined,
      adminToken: undefined,
      unknownUser: "deny",
    });
    expect(config.argon2.chosen).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    expect(config.keepAliveTimeoutMs).toBeGreaterThan(30_000);
    expect(config.passwordMinLength).toBeGreaterThanOrEqual(8);
    expect(config.passwordMaxBytes).toBeGreaterThanOrEqual(64);
  });

  it("returns a frozen object", () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.argon2)).toBe(true);
  });

  it("reads the MQTT_AUTHD_* variables and ignores everything else", () => {
    const config = loadConfig({
      PATH: "/usr/bin",
      HOME: "/root",
      MQTT_AUTHD_DB: "/var/lib/mqtt-authd/db.sqlite",
      MQTT_AUTHD_HOST: "0.0.0.0",
      MQTT_AUTHD_PORT: "9000",
      MQTT_AUTHD_LOG_LEVEL: "warn",
      MQTT_AUTHD_UNKNOWN_USER: "ignore",
      MQTT_AUTHD_ARGON2_MEMORY_KIB: "65536",
      MQTT_AUTHD_ARGON2_TIME_COST: "3",
      MQTT_AUTHD_ARGON2_PARALLELISM: "4",
    });
    expect(config).toMatchObject({
      database: { kind: "sqlite", path: "/var/lib/mqtt-authd/db.sqlite" },
      host: "0.0.0.0",
      port: 9000,
      logLevel: "warn",
      unknownUser: "ignore",
    });
    expect(config.argon2.chosen).toEqual({ memoryCost: 65536, timeCost: 3, parallelism: 4 });
  });

  it("sizes libuv's threadpool to both lanes' verify slots plus four", () => {
    const cores = availableParallelism();
    expect(threadpoolSize({})).toBe(cores + 4 * cores + 4);
    expect(
      threadpoolSize({ MQTT_AUTHD_VERIFY_CONCURRENCY: "3", MQTT_AUTHD_GENERATED_VERIFY_CONCURRENCY: "10" }),
    ).toBe(17);
    // Not valid: the default here (loadConfig refuses it right after).
    expect(threadpoolSize({ MQTT_AUTHD_VERIFY_CONCURRENCY: "lots" })).toBe(cores + 4 * cores + 4);
    expect(configError({ MQTT_AUTHD_VERIFY_CONCURRENCY: "lots" }).message).toContain(
      "MQTT_AUTHD_VERIFY_CONCURRENCY",
    );
  });

  it("lets the generated-secret profile go down to 64 KiB", () => {
    expect(loadConfig({ MQTT_AUTHD_ARGON2_GENERATED_MEMORY_KIB: "64" }).argon2.generated.memoryCost).toBe(64);
  });

  it("accepts port 0 (any free port)", () => {
    expect(loadConfig({ MQTT_AUTHD_PORT: "0" }).port).toBe(0);
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig({ MQTT_AUTHD_PORT: "", MQTT_AUTHD_HOOK_SECRET: "" })).toMatchObject({
      port: 8080,
      hookSecret: undefined,
    });
  });

  it.each([
    ["MQTT_AUTHD_PORT", "abc"],
    ["MQTT_AUTHD_PORT", "70000"],
    ["MQTT_AUTHD_PORT", "80.5"],
    ["MQTT_AUTHD_LOG_LEVEL", "loud"],
    ["MQTT_AUTHD_UNKNOWN_USER", "maybe"],
    ["MQTT_AUTHD_ARGON2_MEMORY_KIB", "1"],
    // Chosen passwords keep at least 1 MiB; only generated secrets may go lighter.
    ["MQTT_AUTHD_ARGON2_MEMORY_KIB", "512"],
    ["MQTT_AUTHD_ARGON2_GENERATED_MEMORY_KIB", "32"],
    ["MQTT_AUTHD_ARGON2_TIME_COST", "0"],
    ["MQTT_AUTHD_ARGON2_PARALLELISM", "many"],
    ["MQTT_AUTHD_PASSWORD_MIN_LENGTH", "0"],
  ])("stops on %s=%s with a message naming the variable", (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
  });

  it("stops on a port that is only white space instead of listening on a random port", () => {
    expect(configError({ MQTT_AUTHD_PORT: " " }).message).toContain("MQTT_AUTHD_PORT");
  });

  it("stops on an unknown MQTT_AUTHD_ variable (a typo must not be silently ignored)", () => {
    expect(configError({ MQTT_AUTHD_FOO: "1" }).message).toContain("MQTT_AUTHD_FOO");
    expect(configError({ MQTT_AUTHD_HOOK_SECRT: "x".repeat(32) }).message).toContain("MQTT_AUTHD_HOOK_SECRT");
  });

  it("stops on a hook secret too short, naming the variable but not the value", () => {
    const err = configError({ MQTT_AUTHD_HOOK_SECRET: "tiny-secret" });
    expect(err.message).toContain("MQTT_AUTHD_HOOK_SECRET");
    expect(err.message).not.toContain("tiny-secret");
  });
});

describe("loadConfig: secrets from *_FILE", () => {
  it("reads MQTT_AUTHD_HOOK_SECRET_FILE, dropping the trailing newline", () => {
    const path = secretFile("hook", "hook-secret-from-a-file-0123456789\n");
    expect(loadConfig({ MQTT_AUTHD_HOOK_SECRET_FILE: path }).hookSecret).toBe(
      "hook-secret-from-a-file-0123456789",
    );
  });

  it("reads MQTT_AUTHD_ADMIN_TOKEN_FILE, dropping a trailing CRLF", () => {
    const path = secretFile("admin", "mqa_admin-token-from-a-file-0123456789\r\n");
    expect(loadConfig({ MQTT_AUTHD_ADMIN_TOKEN_FILE: path }).adminToken).toBe(
      "mqa_admin-token-from-a-file-0123456789",
    );
  });

  it("keeps a file without a trailing newline as it is", () => {
    const path = secretFile("hook", "hook-secret-without-newline-0123");
    expect(loadConfig({ MQTT_AUTHD_HOOK_SECRET_FILE: path }).hookSecret).toBe(
      "hook-secret-without-newline-0123",
    );
  });

  it.each(["HOOK_SECRET", "ADMIN_TOKEN"])("stops when both MQTT_AUTHD_%s and its _FILE are set", (key) => {
    const value = "mqa_value-set-directly-0123456789abcdef";
    const path = secretFile("s", "mqa_value-set-in-a-file-0123456789abcdef\n");
    const err = configError({ [`MQTT_AUTHD_${key}`]: value, [`MQTT_AUTHD_${key}_FILE`]: path });
    expect(err.message).toContain(`MQTT_AUTHD_${key}`);
    expect(err.message).toContain(`MQTT_AUTHD_${key}_FILE`);
    expect(err.message).not.toContain(value);
    expect(err.message).not.toContain("value-set-in-a-file");
  });

  it.each(["HOOK_SECRET", "ADMIN_TOKEN"])("stops when MQTT_AUTHD_%s_FILE cannot be read", (key) => {
    for (const path of [join(dir, "missing"), dir]) {
      const err = configError({ [`MQTT_AUTHD_${key}_FILE`]: path });
      expect(err.message).toContain(`MQTT_AUTHD_${key}_FILE`);
    }
  });

  it("never puts the file's secret into the error when the file's content is refused", () => {
    const path = secretFile("hook", "short-secret\n");
    const err = configError({ MQTT_AUTHD_HOOK_SECRET_FILE: path });
    expect(err.message).toContain("MQTT_AUTHD_HOOK_SECRET");
    expect(err.message).not.toContain("short-secret");
  });
});

describe("the database setting", () => {
  const URL_WITH_PASSWORD = "postgres://mqtt_authd:s3cr3t-p4ss@db.internal:5432/mqtt_authd";

  it("keeps SQLite for a path (and by default), PostgreSQL for a postgres:// URL", () => {
    expect(loadConfig({}).database).toEqual({ kind: "sqlite", path: "./data/mqtt-authd.db" });
    expect(loadConfig({ MQTT_AUTHD_DB: "/var/lib/x.db" }).database).toEqual({
      kind: "sqlite",
      path: "/var/lib/x.db",
    });
    for (const url of [URL_WITH_PASSWORD, "postgresql://u@h/d"]) {
      expect(loadConfig({ MQTT_AUTHD_DB: url }).database).toEqual({ kind: "postgres", url, poolSize: 10 });
    }
    expect(
      loadConfig({ MQTT_AUTHD_DB_URL: URL_WITH_PASSWORD, MQTT_AUTHD_DB_POOL_SIZE: "4" }).database,
    ).toEqual({
      kind: "postgres",
      url: URL_WITH_PASSWORD,
      poolSize: 4,
    });
  });

  it("reads the URL from MQTT_AUTHD_DB_URL_FILE, and names it without its password", () => {
    const config = loadConfig({ MQTT_AUTHD_DB_URL_FILE: secretFile("db-url", `${URL_WITH_PASSWORD}\n`) });
    expect(config.database).toMatchObject({ kind: "postgres", url: URL_WITH_PASSWORD });
    expect(describeDatabase(config.database)).toBe("postgres://mqtt_authd:***@db.internal:5432/mqtt_authd");
  });

  it("refuses both MQTT_AUTHD_DB and MQTT_AUTHD_DB_URL, and a bad URL without echoing it", () => {
    expect(configError({ MQTT_AUTHD_DB: "/x.db", MQTT_AUTHD_DB_URL: URL_WITH_PASSWORD }).message).toContain(
      "set only one",
    );
    for (const env of [
      { MQTT_AUTHD_DB_URL: "mysql://u:s3cr3t-p4ss@h/d" },
      { MQTT_AUTHD_DB: "postgres://u:s3cr3t-p4ss@[::1" },
    ]) {
      const err = configError(env);
      expect(err.message).toMatch(/MQTT_AUTHD_DB/);
      expect(err.message).not.toContain("s3cr3t-p4ss");
    }
  });

  it("leaves the test suite's and the benchmark's own variables alone, and still refuses typos", () => {
    expect(() => loadConfig({ MQTT_AUTHD_TEST_PG_URL: "x", MQTT_AUTHD_BENCH_PG_URL: "y" })).not.toThrow();
    expect(configError({ MQTT_AUTHD_DB_URLL: "x" }).message).toContain("unknown variable MQTT_AUTHD_DB_URLL");
  });
});
