import { parseArgs } from "node:util";
import type { z } from "zod";
import { AppError } from "../errors.js";
import {
  createClientSchema,
  listClientsQuerySchema,
  tokenNameSchema,
  tokenScopeSchema,
} from "../schemas/clients.js";
import type { Services } from "../service.js";
import type { ClientView } from "../services/clients.js";
import { cliActor } from "./actor.js";
import { promptSecret, readSecretFromStdin } from "./secret-input.js";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface CliIo {
  out(line: string): void;
  stdinIsTty: boolean;
  readStdin(): Promise<string>;
  prompt(question: string): Promise<string>;
}

export const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  stdinIsTty: process.stdin.isTTY === true,
  readStdin: () => readSecretFromStdin(),
  prompt: promptSecret,
};

const actor = cliActor;

/** Validates with the API's own schemas, so the CLI accepts exactly what the API accepts. */
export function check<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new UsageError(`${issue.path.map(String).join(".") || "value"}: ${issue.message}`);
}

export function positional(args: string[], index: number, name: string): string {
  const value = args[index];
  if (value === undefined) throw new UsageError(`missing ${name}`);
  return value;
}

const PASSWORD_OPTIONS = {
  "password-stdin": { type: "boolean" },
  generate: { type: "boolean" },
} as const;

/** --password-stdin, a no-echo prompt on a terminal, or (default without a terminal, or --generate) generated. */
async function obtainPassword(
  io: CliIo,
  values: { "password-stdin"?: boolean | undefined; generate?: boolean | undefined },
): Promise<string | undefined> {
  if (values["password-stdin"] && values.generate)
    throw new UsageError("--password-stdin and --generate exclude each other");
  if (values["password-stdin"]) return io.readStdin();
  if (values.generate || !io.stdinIsTty) return undefined;
  const first = await io.prompt("Password (empty to generate one): ");
  if (first === "") return undefined;
  if ((await io.prompt("Repeat password: ")) !== first) throw new UsageError("the passwords do not match");
  return first;
}

function printClients(io: CliIo, clients: ClientView[]): void {
  io.out(["USERNAME", "STATE", "SUPERUSER", "CLIENT_ID", "EXPIRES_AT", "LAST_LOGIN_AT"].join("\t"));
  for (const c of clients) {
    io.out(
      [
        c.username,
        c.state,
        c.is_superuser ? "yes" : "no",
        c.client_id ?? "-",
        c.expires_at ?? "-",
        c.last_login_at ?? "-",
      ].join("\t"),
    );
  }
}

function rejectSecretFlags(args: string[]): void {
  const bad = args.find((a) => /^--?(p|password|token|secret)(=|$)/.test(a));
  if (bad !== undefined) {
    throw new UsageError(
      "passwords and tokens are never taken from the command line (any local user can read it); use --password-stdin or the prompt",
    );
  }
}

export async function runTokenCommand(services: Services, io: CliIo, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { scope: { type: "string", default: "admin" }, json: { type: "boolean" } },
    allowPositionals: true,
  });
  switch (sub) {
    case "create": {
      const name = check(tokenNameSchema, positional(positionals, 0, "NAME"));
      const scope = check(tokenScopeSchema, values.scope);
      const token = await services.tokens.create(name, scope, actor());
      // stdout carries only the token, so `mqtt-authd token create x > file` captures exactly it.
      io.out(token);
      return;
    }
    case "list": {
      const tokens = await services.tokens.list();
      if (values.json) return io.out(JSON.stringify(tokens, null, 2));
      io.out(["NAME", "SCOPE", "CREATED_AT", "LAST_USED_AT", "REVOKED_AT"].join("\t"));
      for (const t of tokens)
        io.out([t.name, t.scope, t.created_at, t.last_used_at ?? "-", t.revoked_at ?? "-"].join("\t"));
      return;
    }
    case "revoke":
      await services.tokens.revoke(check(tokenNameSchema, positional(positionals, 0, "NAME")), actor());
      io.out(`revoked token ${positionals[0]}`);
      return;
    default:
      throw new UsageError(`unknown token command '${sub ?? ""}' (create, list, revoke)`);
  }
}

export async function runClientCommand(services: Services, io: CliIo, args: string[]): Promise<void> {
  rejectSecretFlags(args);
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      ...PASSWORD_OPTIONS,
      "client-id": { type: "string" },
      superuser: { type: "boolean" },
      disabled: { type: "boolean" },
      "expires-at": { type: "string" },
      description: { type: "string" },
      state: { type: "string" },
      prefix: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
    },
    allowPositionals: true,
  });
  const { clients } = services;
  const username = () => positional(positionals, 0, "USERNAME");
  switch (sub) {
    case "add": {
      const input = check(createClientSchema, {
        username: username(),
        ...(values["client-id"] !== undefined && { client_id: values["client-id"] }),
        ...(values.superuser && { is_superuser: true }),
        ...(values.disabled && { enabled: false }),
        ...(values["expires-at"] !== undefined && { expires_at: values["expires-at"] }),
        ...(values.description !== undefined && { description: values.description }),
      });
      const password = await obtainPassword(io, values);
      const { client, generatedPassword } = await clients.create(
        password === undefined ? input : { ...input, password },
        actor(),
      );
      if (values.json)
        return io.out(
          JSON.stringify({ ...client, ...(generatedPassword && { password: generatedPassword }) }, null, 2),
        );
      io.out(`created client ${client.username}`);
      if (generatedPassword !== undefined) io.out(`password: ${generatedPassword}`);
      return;
    }
    case "rotate": {
      const password = await obtainPassword(io, values);
      const { generatedPassword } = await clients.rotatePassword(username(), password, actor());
      io.out(`rotated password of ${username()}`);
      if (generatedPassword !== undefined) io.out(`password: ${generatedPassword}`);
      return;
    }
    case "enable":
    case "disable":
      await clients.update(username(), { enabled: sub === "enable" }, actor());
      io.out(`${sub}d client ${username()}`);
      return;
    case "delete":
      await clients.delete(username(), actor());
      io.out(`deleted client ${username()}`);
      return;
    case "show": {
      const client = await clients.get(username());
      io.out(JSON.stringify(client, null, 2));
      return;
    }
    case "list": {
      const query = check(listClientsQuerySchema, {
        ...(values.state !== undefined && { state: values.state }),
        ...(values.prefix !== undefined && { prefix: values.prefix }),
        limit: values.limit ?? "1000",
      });
      const page = await clients.list(query);
      if (values.json) return io.out(JSON.stringify(page, null, 2));
      return printClients(io, page.data);
    }
    default:
      throw new UsageError(
        `unknown client command '${sub ?? ""}' (add, rotate, enable, disable, delete, show, list)`,
      );
  }
}

export function describeError(err: unknown): string {
  if (err instanceof AppError || err instanceof UsageError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
