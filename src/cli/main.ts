import { type Config, ConfigError, loadConfig } from "../config.js";
import { migrateOnly } from "../db/open-store.js";
import { createLogger } from "../logger.js";
import { openServices } from "../service.js";
import { version } from "../version.js";
import { isClientAclCommand, runAclCommand, runClientAclCommand, runRoleCommand } from "./acl-commands.js";
import {
  type CliIo,
  defaultIo,
  describeError,
  runClientCommand,
  runTokenCommand,
  UsageError,
} from "./commands.js";
import { runCopyCommand } from "./copy-command.js";
import { runExportCommand, runImportCommand } from "./import-commands.js";
import { runBackup, runLockouts, runUnlock } from "./ops-commands.js";
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
  client unlock USERNAME [--peerhost ADDR] | client unlock --peerhost ADDR
                                clear lockouts after repeated failed logins
  lockouts [--all] [--json]     list lockouts in force (--all: also expired ones)
  backup FILE                   consistent copy of the SQLite database, safe while the service runs
                                (PostgreSQL: use pg_dump)
  copy --to postgres://USER@HOST:PORT/DB
                                copy the SQLite database into an empty PostgreSQL one (migrated
                                first); the password comes from PGPASSWORD, ~/.pgpass, or
                                MQTT_AUTHD_COPY_TO_FILE holding the whole URL — never from argv
  client acl USERNAME [--json]  a client's roles, own rules, and effective rules with their sources
  client set-roles USERNAME [ROLE...]
                                assign roles, in evaluation order (none: unassign all)
  client set-rules USERNAME (--rules-file FILE | --rules-stdin)
  role list [--json] | role show NAME | role delete NAME
  role create NAME [--description TEXT] [--default] [--rules-file FILE | --rules-stdin]
  role set-rules NAME (--rules-file FILE | --rules-stdin)
  acl check USERNAME CLIENTID publish|subscribe TOPIC [--qos 0|1|2] [--retain] [--json]
                                what the broker would be told, and the rule that decided;
                                exit status 0 when allowed, 3 when denied (or ignored)
  import mosquitto-passwd|mosquitto-acl FILE [--dry-run] [--conflict skip|overwrite] [--partial]
  import go-auth FILE [--salt-encoding base64|utf-8] [same options]
  import emqx-users FILE.csv|FILE.json --algorithm sha256|sha512|md5|sha|pbkdf2|bcrypt|plain
         [--salt-position prefix|suffix|disable] [--mac-fun sha256 --iterations N [--dk-length N]]
                                prints a JSON report; exit 1 if a line failed, and then nothing is
                                written unless --partial (apply the good lines) is given
  export mosquitto-passwd [FILE]
                                clients whose hashes mosquitto can read ($6$/$7$), as a password file

Rules are a JSON array in the API's format, evaluated in order (first match decides), e.g.
  [{"permission":"allow","action":"publish","topic":"sensors/\${clientid}/#","qos":[0,1]}]

Passwords are never taken from the command line: pipe them with --password-stdin, type them at the
no-echo prompt, or let the server generate one (printed once).

Configuration comes from MQTT_AUTHD_* environment variables (see the README), e.g.
  MQTT_AUTHD_DB=./data/mqtt-authd.db (or postgres://USER@HOST/DB)  MQTT_AUTHD_PORT=8080
  MQTT_AUTHD_HOOK_SECRET_FILE=/run/secrets/hook  MQTT_AUTHD_ADMIN_TOKEN_FILE=/run/secrets/admin
`;

async function runServe(config: Config): Promise<number> {
  const logger = createLogger(config.logLevel, undefined);
  const services = await openServices(config, logger);
  let stop: () => Promise<void>;
  try {
    ({ stop } = await serve(services));
  } catch (err) {
    // A database pool left open would keep the process alive after the refusal.
    await services.close();
    throw err;
  }
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

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failed, 2 usage, 3 `acl check` not allowed). */
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
      case "copy":
        return await runCopyCommand(config, io, args);
      case "migrate": {
        const { from, to } = await migrateOnly(config.database);
        io.out(from === to ? `database is up to date (schema ${to})` : `migrated schema ${from} → ${to}`);
        return 0;
      }
      case "token":
      case "client":
      case "role":
      case "acl":
      case "lockouts":
      case "backup":
      case "import":
      case "export": {
        const services = await openServices(config, createLogger("warn"));
        try {
          if (command === "acl") return await runAclCommand(services, io, args);
          if (command === "import") return await runImportCommand(services, io, args);
          if (command === "export") return await runExportCommand(services, io, args);
          if (command === "role") await runRoleCommand(services, io, args);
          else if (command === "lockouts") await runLockouts(services, io, args);
          else if (command === "backup") await runBackup(services, io, args);
          else if (command === "client" && args[0] === "unlock") await runUnlock(services, io, args.slice(1));
          else if (command === "client" && isClientAclCommand(args))
            await runClientAclCommand(services, io, args);
          else await (command === "token" ? runTokenCommand : runClientCommand)(services, io, args);
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
