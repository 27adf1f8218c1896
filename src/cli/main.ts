import { readFileSync } from "node:fs";
import { type Config, ConfigError, loadConfig } from "../config.js";
import { migrate } from "../db/migrate.js";
import { openDatabase } from "../db/open.js";
import { createLogger } from "../logger.js";
import { openServices } from "../service.js";
import {
  type CliIo,
  defaultIo,
  describeError,
  runClientCommand,
  runTokenCommand,
  UsageError,
} from "./commands.js";
import { serve } from "./serve.js";

const HELP = `mqtt-authd — credentials and topic ACLs for MQTT brokers (EMQX HTTP auth)

Usage: mqtt-authd <command> [options]

Commands:
  serve                         run the HTTP service (broker hooks + provisioning API)
  migrate                       apply pending database migrations and exit
  token create NAME [--scope admin|read]
                                create an admin API token; prints it once (only its SHA-256 is stored)
  token list | token revoke NAME
  client add USERNAME [--password-stdin | --generate] [--client-id ID] [--superuser]
                      [--disabled] [--expires-at ISO-8601] [--description TEXT]
  client rotate USERNAME [--password-stdin | --generate]
  client enable|disable|delete|show USERNAME
  client list [--state active|disabled|expired] [--prefix P] [--json]

Passwords are never taken from the command line: pipe them with --password-stdin, type them at the
no-echo prompt, or let the server generate one (printed once).

Configuration comes from MQTT_AUTHD_* environment variables (see the README), e.g.
  MQTT_AUTHD_DB=./data/mqtt-authd.db  MQTT_AUTHD_HOST=127.0.0.1  MQTT_AUTHD_PORT=8080
  MQTT_AUTHD_HOOK_SECRET_FILE=/run/secrets/hook  MQTT_AUTHD_ADMIN_TOKEN_FILE=/run/secrets/admin
`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

async function runServe(config: Config): Promise<number> {
  const logger = createLogger(config.logLevel, undefined);
  const services = await openServices(config, logger);
  const { stop } = await serve(services);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "signal received");
      stop().then(resolve, resolve);
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
  return 0;
}

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, io: CliIo = defaultIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    io.out(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-V" || command === "version") {
    io.out(`mqtt-authd ${version()}`);
    return 0;
  }
  try {
    const config = loadConfig(env);
    switch (command) {
      case "serve":
        return await runServe(config);
      case "migrate": {
        const db = openDatabase(config.dbPath);
        try {
          const { from, to } = migrate(db);
          io.out(from === to ? `database is up to date (schema ${to})` : `migrated schema ${from} → ${to}`);
        } finally {
          db.close();
        }
        return 0;
      }
      case "token":
      case "client": {
        const services = await openServices(config, createLogger("warn"));
        try {
          await (command === "token" ? runTokenCommand : runClientCommand)(services, io, args);
        } finally {
          await services.close();
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command '${command}'; see mqtt-authd --help`);
    }
  } catch (err) {
    process.stderr.write(
      `mqtt-authd: ${err instanceof ConfigError ? "configuration: " : ""}${describeError(err)}\n`,
    );
    return err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1;
  }
}
