import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { TokenService } from "./services/tokens.js";

/**
 * First start on an empty database must be usable and safe: secrets the operator did not configure
 * are generated and written to 0600 files beside the database. Logs carry the file's path, never
 * the secret.
 */

const stateDir = (config: Config): string => (config.dbPath === ":memory:" ? "." : dirname(config.dbPath));

async function writeSecretFileOnce(path: string, secret: string): Promise<boolean> {
  try {
    // 'wx': never overwrite (a secret someone already copied into a broker config must not change).
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/** The hook secret: configured, or generated once into `<db dir>/hook-secret`. */
export async function resolveHookSecret(config: Config, logger: Logger): Promise<string> {
  if (config.hookSecret !== undefined) return config.hookSecret;
  const path = join(stateDir(config), "hook-secret");
  if (await writeSecretFileOnce(path, randomBytes(32).toString("base64url"))) {
    logger.warn(
      { path },
      "no MQTT_AUTHD_HOOK_SECRET configured: generated one; put it in the broker's config",
    );
  } else {
    logger.info({ path }, "using the hook secret from file");
  }
  return (await readFile(path, "utf8")).trim();
}

/** An admin token: the configured one is registered; with none and an empty table, one is generated. */
export async function ensureAdminToken(config: Config, tokens: TokenService, logger: Logger): Promise<void> {
  if (config.adminToken !== undefined) {
    await tokens.register("configured", config.adminToken, "admin", "mqtt-authd");
    return;
  }
  if (await tokens.hasUsableAdminToken()) return;
  const path = join(stateDir(config), "admin-token");
  const name = `bootstrap-${new Date().toISOString().replace(/[-:.]/g, "")}`;
  const token = await tokens.create(name, "admin", "mqtt-authd");
  if (!(await writeSecretFileOnce(path, token))) {
    await tokens.revoke(name, "mqtt-authd");
    throw new Error(
      `${path} exists but no usable admin token does; remove the file or set MQTT_AUTHD_ADMIN_TOKEN`,
    );
  }
  logger.warn(
    { path, name },
    "no admin token existed: created one; read it from the file, then delete the file",
  );
}
