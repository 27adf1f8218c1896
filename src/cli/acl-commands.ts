import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { validateTopicFilter, validateTopicName } from "../acl/topic.js";
import type { Rule } from "../acl/types.js";
import type { AuthzDecision } from "../core/authorize.js";
import {
  aclCheckSchema,
  clientAclSchema,
  createRoleSchema,
  replaceRoleSchema,
  roleNameSchema,
} from "../schemas/acl.js";
import { usernameSchema } from "../schemas/clients.js";
import type { Services } from "../service.js";
import type { ClientAclView, RoleView } from "../services/acl.js";
import { cliActor } from "./actor.js";
import { type CliIo, check, positional, UsageError } from "./commands.js";

/** `acl check` exit status when the broker would not be told "allow", so scripts can branch on it. */
const EXIT_NOT_ALLOWED = 3;

const CLIENT_ACL_SUBCOMMANDS = new Set(["acl", "set-roles", "set-rules"]);

/** `client acl|set-roles|set-rules …` live here; the other `client` subcommands in commands.ts. */
export function isClientAclCommand(args: readonly string[]): boolean {
  return args[0] !== undefined && CLIENT_ACL_SUBCOMMANDS.has(args[0]);
}

const actor = cliActor;

const RULES_OPTIONS = {
  "rules-file": { type: "string" },
  "rules-stdin": { type: "boolean" },
} as const;

/**
 * The raw JSON array from --rules-file or --rules-stdin (undefined when neither is given); the
 * caller validates it inside the schema of the whole request, so errors name `rules.N.field`.
 */
async function readRules(
  io: CliIo,
  values: { "rules-file"?: string | undefined; "rules-stdin"?: boolean | undefined },
): Promise<unknown> {
  const file = values["rules-file"];
  if (file !== undefined && values["rules-stdin"]) {
    throw new UsageError("--rules-file and --rules-stdin exclude each other");
  }
  let text: string;
  if (file !== undefined) {
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new UsageError(`--rules-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
    }
  } else if (values["rules-stdin"]) {
    text = await io.readStdin();
  } else {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`rules: not valid JSON (${(err as Error).message}); expected an array of rules`);
  }
}

async function requireRules(io: CliIo, values: Parameters<typeof readRules>[1]): Promise<unknown> {
  const rules = await readRules(io, values);
  if (rules === undefined) throw new UsageError("give the rules with --rules-file FILE or --rules-stdin");
  return rules;
}

/** `allow publish sensors/${clientid}/# qos 0,1 retain false`: a rule as the admin wrote it. */
function describeRule(rule: Rule): string {
  const parts: string[] = [rule.permission, rule.action, rule.topic];
  if (rule.qos !== undefined) parts.push(`qos ${rule.qos.join(",")}`);
  if (rule.retain !== undefined) parts.push(`retain ${rule.retain}`);
  return parts.join(" ");
}

const rulesCount = (n: number): string => (n === 1 ? "1 rule" : `${n} rules`);

function printRoles(io: CliIo, roles: RoleView[]): void {
  io.out(["NAME", "DEFAULT", "RULES", "ASSIGNED", "DESCRIPTION"].join("\t"));
  for (const r of roles) {
    io.out(
      [r.name, r.default ? "yes" : "no", r.rules.length, r.assigned_clients, r.description || "-"].join("\t"),
    );
  }
}

function printClientAcl(io: CliIo, view: ClientAclView, notes: string[], noMatch: string): void {
  io.out(`client: ${view.username}`);
  for (const note of notes) io.out(note);
  io.out(`roles: ${view.roles.length === 0 ? "-" : view.roles.join(", ")}`);
  io.out(`own rules:${view.rules.length === 0 ? " -" : ""}`);
  for (const [i, rule] of view.rules.entries()) io.out(`  ${i + 1}\t${describeRule(rule)}`);
  io.out(`effective rules, in evaluation order:${view.effective.length === 0 ? " -" : ""}`);
  for (const [i, rule] of view.effective.entries()) {
    io.out(`  ${i + 1}\t${rule.source}\t${describeRule(rule)}`);
  }
  io.out(`when no rule matches: ${noMatch}`);
}

async function showClientAcl(services: Services, io: CliIo, username: string, json: boolean): Promise<void> {
  const view = await services.acl.getClientAcl(username);
  if (json) return io.out(JSON.stringify(view, null, 2));
  const client = await services.clients.get(username);
  const notes: string[] = [];
  if (client.is_superuser) notes.push("superuser: allowed everything; the rules below are not consulted");
  if (client.state !== "active") notes.push(`state: ${client.state}; denied everything`);
  printClientAcl(io, view, notes, services.config.aclNoMatch);
}

export async function runRoleCommand(services: Services, io: CliIo, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      ...RULES_OPTIONS,
      description: { type: "string" },
      default: { type: "boolean" },
      json: { type: "boolean" },
    },
    allowPositionals: true,
  });
  const { acl } = services;
  const name = () => check(roleNameSchema, positional(positionals, 0, "NAME"));
  switch (sub) {
    case "list": {
      const roles = await acl.listRoles();
      if (values.json) return io.out(JSON.stringify(roles, null, 2));
      return printRoles(io, roles);
    }
    case "show":
      io.out(JSON.stringify(await acl.getRole(name()), null, 2));
      return;
    case "create": {
      const rules = await readRules(io, values);
      const { name: roleName, ...input } = check(createRoleSchema, {
        name: name(),
        ...(values.description !== undefined && { description: values.description }),
        ...(values.default && { default: true }),
        ...(rules !== undefined && { rules }),
      });
      const role = await acl.createRole(roleName, input, actor());
      io.out(
        `created role ${role.name} (${rulesCount(role.rules.length)}${role.default ? ", default" : ""})`,
      );
      return;
    }
    case "set-rules": {
      const roleName = name();
      const rules = await requireRules(io, values);
      const current = await acl.getRole(roleName);
      const input = check(replaceRoleSchema, {
        description: current.description,
        default: current.default,
        rules,
      });
      const role = await acl.replaceRole(roleName, input, actor());
      io.out(`role ${role.name} now has ${rulesCount(role.rules.length)}`);
      return;
    }
    case "delete":
      await acl.deleteRole(name(), actor());
      io.out(`deleted role ${positionals[0]}`);
      return;
    default:
      throw new UsageError(`unknown role command '${sub ?? ""}' (list, show, create, set-rules, delete)`);
  }
}

export async function runClientAclCommand(services: Services, io: CliIo, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { ...RULES_OPTIONS, json: { type: "boolean" } },
    allowPositionals: true,
  });
  const username = check(usernameSchema, positional(positionals, 0, "USERNAME"));
  switch (sub) {
    case "acl":
      return showClientAcl(services, io, username, values.json === true);
    case "set-roles": {
      const { roles } = check(clientAclSchema, { roles: positionals.slice(1) });
      await services.acl.replaceClientAcl(username, { roles: roles ?? [] }, actor());
      return showClientAcl(services, io, username, values.json === true);
    }
    case "set-rules": {
      const { rules } = check(clientAclSchema, { rules: await requireRules(io, values) });
      await services.acl.replaceClientAcl(username, { rules: rules ?? [] }, actor());
      return showClientAcl(services, io, username, values.json === true);
    }
    default:
      throw new UsageError(`unknown client ACL command '${sub ?? ""}' (acl, set-roles, set-rules)`);
  }
}

function explain(decision: AuthzDecision, topic: string, action: "publish" | "subscribe"): string {
  switch (decision.reason) {
    case "superuser":
      return "superuser";
    case "rule":
      return `rule ${decision.ruleIndex! + 1}, ${decision.rule!.source}: ${describeRule(decision.rule!)}`;
    case "no_match":
      return `no rule matched: default ${decision.result}`;
    case "unknown_user":
      return "unknown user";
    case "disabled":
      return "client is disabled";
    case "expired":
      return "client has expired";
    case "client_id_mismatch":
      return "client id is not the one bound to this username";
    case "invalid_topic": {
      const valid = action === "publish" ? validateTopicName(topic) : validateTopicFilter(topic);
      return `invalid topic: ${valid.ok ? "rejected" : valid.reason}`;
    }
  }
}

/** `acl check USERNAME CLIENTID publish|subscribe TOPIC`: the exit status is the answer (0 allow, 3 not). */
export async function runAclCommand(services: Services, io: CliIo, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "check") throw new UsageError(`unknown acl command '${sub ?? ""}' (check)`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { qos: { type: "string" }, retain: { type: "boolean" }, json: { type: "boolean" } },
    allowPositionals: true,
  });
  if (positionals.length > 4) throw new UsageError("too many arguments; quote a TOPIC with spaces");
  const username = check(usernameSchema, positional(positionals, 0, "USERNAME"));
  const req = check(aclCheckSchema, {
    clientid: positional(positionals, 1, "CLIENTID"),
    action: positional(positionals, 2, "ACTION (publish or subscribe)"),
    topic: positional(positionals, 3, "TOPIC"),
    ...(values.qos !== undefined && { qos: values.qos }),
    retain: values.retain ? "true" : "false",
  });
  const decision = await services.acl.check({ ...req, username });
  if (values.json) io.out(JSON.stringify(decision, null, 2));
  else io.out(`${decision.result}  (${explain(decision, req.topic, req.action)})`);
  return decision.result === "allow" ? 0 : EXIT_NOT_ALLOWED;
}
