import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { z } from "zod";
import { redactDbUrl } from "./db/postgres/open.js";

/**
 * The only reader of process.env. Every variable is validated once at start; a bad value stops the
 * start with a message that names the variable. Secrets may also come from `<NAME>_FILE` (the
 * container-secrets convention), so they never need to sit in the environment of a process listing.
 */

const PREFIX = "MQTT_AUTHD_";

// Digits only: Number(" ") is 0 and Number("1e3") is 1000, neither of which an operator meant.
const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** argon2's memory cost in KiB: at least 1 MiB for passwords people choose, 64 KiB for generated ones. */
const memoryKiB = (dflt: number, min = 1024) => int(min, 4 * 1024 * 1024).default(dflt);
const timeCost = (dflt: number) => int(1, 100).default(dflt);
const parallelism = (dflt: number) => int(1, 64).default(dflt);

/** A PostgreSQL connection URL (what selects the PostgreSQL store), as libpq spells it. */
const POSTGRES_URL = /^postgres(ql)?:\/\//i;
export const isPostgresUrl = (v: string): boolean => POSTGRES_URL.test(v);
const postgresUrl = z.string().regex(POSTGRES_URL, "must be a postgres:// or postgresql:// URL");

const envSchema = z.object({
  // A file path (SQLite, the embedded default) or a postgres:// URL (PostgreSQL, for several replicas).
  DB: z.string().min(1).optional(),
  // The same, for a URL that carries a password: also readable from DB_URL_FILE.
  DB_URL: postgresUrl.optional(),
  // `mqtt-authd copy`: the PostgreSQL database to copy into (also COPY_TO_FILE: the URL may hold a password).
  COPY_TO: postgresUrl.optional(),
  // Connections each process keeps to PostgreSQL.
  DB_POOL_SIZE: int(1, 1000).default(10),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  HOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  HOOK_SECRET_HEADER: z
    .string()
    .regex(/^[a-z0-9-]+$/i, "must be an HTTP header name")
    .default("x-mqtt-authd-secret"),
  ADMIN_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
  UNKNOWN_USER: z.enum(["deny", "ignore"]).default("deny"),
  PASSWORD_MIN_LENGTH: int(1, 1024).default(8),
  PASSWORD_MAX_BYTES: int(16, 65535).default(1024),
  // OWASP's minimum profile for argon2id: for passwords people choose or that were imported.
  ARGON2_MEMORY_KIB: memoryKiB(19456),
  ARGON2_TIME_COST: timeCost(2),
  ARGON2_PARALLELISM: parallelism(1),
  // A light profile for secrets the server generates (>= 128 bits): a slow hash buys nothing there.
  ARGON2_GENERATED_MEMORY_KIB: memoryKiB(256, 64),
  ARGON2_GENERATED_TIME_COST: timeCost(1),
  ARGON2_GENERATED_PARALLELISM: parallelism(1),
  // Above EMQX's `keep-alive: timeout=30`, so the broker's pooled connections are not churned.
  KEEPALIVE_TIMEOUT_MS: int(1000, 600_000).default(65_000),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000).default(10_000),
  LAST_LOGIN_FLUSH_MS: int(10, 60_000).default(1000),
  EMQX_ACL_IN_AUTH: bool.default(true),
  // Full-profile verifies at once: one per core (argon2 with p=1 keeps one core busy).
  VERIFY_CONCURRENCY: int(1, 256).default(availableParallelism()),
  // Light-profile verifies at once: several per core, as each is shorter than the event loop's turn
  // to hand out the next slot (see core/admission.ts).
  GENERATED_VERIFY_CONCURRENCY: int(1, 256).default(4 * availableParallelism()),
  // From arrival to answer. EMQX's authn request_timeout is 5 s; one second is left for the network
  // and EMQX's own queue, so the broker never sees an answer after it gave up.
  DEADLINE_MS: int(100, 60_000).default(4000),
  // How long a login may wait for a full-profile verify (chosen or imported passwords, ~30 ms each)
  // before it is answered "ignore" at once. Short on purpose: a broker connection held by a waiting
  // login holds up every request EMQX queued behind it, and EMQX's clock runs from its own queue;
  // a device answered at once reconnects, a late answer is lost. Measured: 2,000 chosen-password
  // devices at once, 0 late answers at 250 ms, hundreds at 1 s or 4 s.
  CHOSEN_VERIFY_WAIT_MS: int(10, 60_000).default(250),
  FAST_PATH_TTL_S: int(1, 30 * 86400).default(3600),
  FAST_PATH_MAX_ENTRIES: int(1, 10_000_000).default(100_000),
  LOCKOUT_WINDOW_S: int(1, 86400).default(900),
  LOCKOUT_PAIR_THRESHOLD: int(1, 1_000_000).default(5),
  LOCKOUT_USERNAME_THRESHOLD: int(1, 1_000_000).default(50),
  LOCKOUT_SOURCE_THRESHOLD: int(1, 1_000_000).default(500),
  LOCKOUT_BASE_S: int(1, 86400).default(60),
  LOCKOUT_MAX_S: int(1, 7 * 86400).default(3600),
  // Which broker contracts are served; each is a thin edge over the same core.
  CONTRACTS: z
    .string()
    .default("emqx,rabbitmq,goauth,vernemq")
    .transform((v) =>
      v
        .split(",")
        .map((c) => c.trim())
        .filter((c) => c !== ""),
    )
    .pipe(z.array(z.enum(["emqx", "rabbitmq", "goauth", "vernemq"])).min(1, "enable at least one contract")),
  FAILURE_RETENTION_DAYS: int(1, 3650).default(30),
  AUDIT_RETENTION_DAYS: int(1, 36500).default(365),
  ACL_NO_MATCH: z.enum(["allow", "deny"]).default("deny"),
});

type Env = z.infer<typeof envSchema>;

export interface Argon2Profile {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export type DatabaseConfig =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string; readonly poolSize: number };

export const DEFAULT_SQLITE_PATH = "./data/mqtt-authd.db";

/** The database for logs and messages: the path, or the URL without its password. */
export function describeDatabase(db: DatabaseConfig): string {
  return db.kind === "sqlite" ? db.path : redactDbUrl(db.url);
}

export interface Config {
  readonly database: DatabaseConfig;
  /** Target of `mqtt-authd copy`, when given by the environment. */
  readonly copyTo: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly logLevel: Env["LOG_LEVEL"];
  readonly hookSecret: string | undefined;
  readonly hookSecretHeader: string;
  readonly adminToken: string | undefined;
  readonly unknownUser: "deny" | "ignore";
  readonly passwordMinLength: number;
  readonly passwordMaxBytes: number;
  readonly argon2: { readonly chosen: Argon2Profile; readonly generated: Argon2Profile };
  readonly keepAliveTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly lastLoginFlushMs: number;
  readonly emqxAclInAuth: boolean;
  readonly aclNoMatch: "allow" | "deny";
  /** Verifies at once per argon2 profile's lane (full: chosen and imported; light: generated). */
  readonly verifyConcurrency: { readonly full: number; readonly light: number };
  readonly deadlineMs: number;
  /** The longest wait for a full-profile verify slot (never beyond `deadlineMs`). */
  readonly chosenVerifyWaitMs: number;
  readonly fastPath: { readonly ttlMs: number; readonly maxEntries: number };
  readonly lockout: {
    readonly windowMs: number;
    readonly pairThreshold: number;
    readonly usernameThreshold: number;
    readonly sourceThreshold: number;
    readonly baseLockMs: number;
    readonly maxLockMs: number;
  };
  readonly retention: { readonly failureDays: number; readonly auditDays: number };
  readonly contracts: ReadonlySet<"emqx" | "rabbitmq" | "goauth" | "vernemq">;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const SECRET_KEYS = ["HOOK_SECRET", "ADMIN_TOKEN", "DB_URL", "COPY_TO"] as const;

/** Reads `<NAME>_FILE` for secrets; the value itself never appears in an error message. */
function resolveSecretFiles(raw: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...raw };
  for (const key of SECRET_KEYS) {
    const file = raw[`${key}_FILE`];
    if (file === undefined || file === "") continue;
    if (raw[key] !== undefined && raw[key] !== "") {
      throw new ConfigError(`${PREFIX}${key} and ${PREFIX}${key}_FILE are both set; set only one`);
    }
    try {
      out[key] = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      throw new ConfigError(`${PREFIX}${key}_FILE: cannot read ${file} (${code})`);
    }
  }
  return out;
}

/**
 * The threads libuv's pool needs: one per verify slot of both lanes, and four more so that
 * file-system and other crypto work never queue behind verifies. main.ts sizes the pool with it
 * before anything else runs, so it reads the two settings before the config is validated: a value
 * that is not valid counts as its default here, and loadConfig refuses it right after.
 */
export function threadpoolSize(env: NodeJS.ProcessEnv): number {
  const slots = (name: "VERIFY_CONCURRENCY" | "GENERATED_VERIFY_CONCURRENCY") => {
    const field = envSchema.shape[name];
    const value = env[PREFIX + name];
    const parsed = field.safeParse(value === "" ? undefined : value);
    return parsed.success ? parsed.data : field.parse(undefined);
  };
  return slots("VERIFY_CONCURRENCY") + slots("GENERATED_VERIFY_CONCURRENCY") + 4;
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const raw: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    // MQTT_AUTHD_TEST_* and MQTT_AUTHD_BENCH_* belong to the test suite and the benchmark.
    if (name.startsWith(`${PREFIX}TEST_`) || name.startsWith(`${PREFIX}BENCH_`)) continue;
    if (name.startsWith(PREFIX) && value !== "") raw[name.slice(PREFIX.length)] = value;
  }
  const known = new Set([...Object.keys(envSchema.shape), ...SECRET_KEYS.map((k) => `${k}_FILE`)]);
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown variable ${unknown.map((k) => PREFIX + k).join(", ")}`);
  }
  const parsed = envSchema.safeParse(resolveSecretFiles(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = PREFIX + String(issue.path[0] ?? "");
    throw new ConfigError(`${name}: ${issue.message}`);
  }
  const e = parsed.data;
  if (e.DB !== undefined && e.DB_URL !== undefined) {
    throw new ConfigError(`${PREFIX}DB and ${PREFIX}DB_URL are both set; set only one`);
  }
  const target = e.DB_URL ?? e.DB ?? DEFAULT_SQLITE_PATH;
  const database: DatabaseConfig = isPostgresUrl(target)
    ? Object.freeze({ kind: "postgres", url: target, poolSize: e.DB_POOL_SIZE })
    : Object.freeze({ kind: "sqlite", path: target });
  if (database.kind === "postgres") {
    try {
      new URL(database.url);
    } catch {
      // The URL may hold a password: say what is wrong, never echo it.
      throw new ConfigError(`${PREFIX}${e.DB_URL !== undefined ? "DB_URL" : "DB"}: not a valid URL`);
    }
  }
  return Object.freeze({
    database,
    copyTo: e.COPY_TO,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    hookSecret: e.HOOK_SECRET,
    hookSecretHeader: e.HOOK_SECRET_HEADER.toLowerCase(),
    adminToken: e.ADMIN_TOKEN,
    unknownUser: e.UNKNOWN_USER,
    passwordMinLength: e.PASSWORD_MIN_LENGTH,
    passwordMaxBytes: e.PASSWORD_MAX_BYTES,
    argon2: Object.freeze({
      chosen: Object.freeze({
        memoryCost: e.ARGON2_MEMORY_KIB,
        timeCost: e.ARGON2_TIME_COST,
        parallelism: e.ARGON2_PARALLELISM,
      }),
      generated: Object.freeze({
        memoryCost: e.ARGON2_GENERATED_MEMORY_KIB,
        timeCost: e.ARGON2_GENERATED_TIME_COST,
        parallelism: e.ARGON2_GENERATED_PARALLELISM,
      }),
    }),
    keepAliveTimeoutMs: e.KEEPALIVE_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    lastLoginFlushMs: e.LAST_LOGIN_FLUSH_MS,
    emqxAclInAuth: e.EMQX_ACL_IN_AUTH,
    aclNoMatch: e.ACL_NO_MATCH,
    verifyConcurrency: { full: e.VERIFY_CONCURRENCY, light: e.GENERATED_VERIFY_CONCURRENCY },
    deadlineMs: e.DEADLINE_MS,
    chosenVerifyWaitMs: Math.min(e.CHOSEN_VERIFY_WAIT_MS, e.DEADLINE_MS),
    fastPath: Object.freeze({ ttlMs: e.FAST_PATH_TTL_S * 1000, maxEntries: e.FAST_PATH_MAX_ENTRIES }),
    lockout: Object.freeze({
      windowMs: e.LOCKOUT_WINDOW_S * 1000,
      pairThreshold: e.LOCKOUT_PAIR_THRESHOLD,
      usernameThreshold: e.LOCKOUT_USERNAME_THRESHOLD,
      sourceThreshold: e.LOCKOUT_SOURCE_THRESHOLD,
      baseLockMs: e.LOCKOUT_BASE_S * 1000,
      maxLockMs: e.LOCKOUT_MAX_S * 1000,
    }),
    retention: Object.freeze({ failureDays: e.FAILURE_RETENTION_DAYS, auditDays: e.AUDIT_RETENTION_DAYS }),
    contracts: new Set(e.CONTRACTS),
  });
}
