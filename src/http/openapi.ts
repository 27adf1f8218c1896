import { z } from "zod";
import { aclCheckSchema, clientAclSchema, createRoleSchema, replaceRoleSchema } from "../schemas/acl.js";
import {
  createClientSchema,
  listClientsQuerySchema,
  patchClientSchema,
  rotatePasswordSchema,
} from "../schemas/clients.js";
import { importRequestSchema } from "../schemas/import.js";
import {
  auditQuerySchema,
  failuresQuerySchema,
  lockoutQuerySchema,
  unlockQuerySchema,
} from "./api/security.js";

/**
 * The OpenAPI 3.1 document of the provisioning API, generated from the very zod schemas that
 * validate the requests (OpenAPI 3.1 speaks JSON Schema 2020-12, which zod emits natively), so the
 * document cannot drift from what the API accepts. A test walks the Express router to prove every
 * route is documented and every documented route exists.
 */

type Method = "get" | "post" | "put" | "patch" | "delete";

interface Operation {
  readonly method: Method;
  /** OpenAPI path template under /api/v1, e.g. `/clients/{username}`. */
  readonly path: string;
  readonly summary: string;
  readonly scope: "read" | "admin";
  readonly body?: z.ZodType;
  readonly query?: z.ZodObject;
  readonly ok: { status: number; description: string };
}

export const API_OPERATIONS: readonly Operation[] = [
  {
    method: "post",
    path: "/clients",
    summary: "Create a client (the password is generated and returned once when omitted)",
    scope: "admin",
    body: createClientSchema,
    ok: { status: 201, description: "The client; `password` only when generated" },
  },
  {
    method: "get",
    path: "/clients",
    summary: "List clients (keyset pagination by username)",
    scope: "read",
    query: listClientsQuerySchema,
    ok: { status: 200, description: "`{data, next_after}`" },
  },
  {
    method: "get",
    path: "/clients/{username}",
    summary: "Get a client",
    scope: "read",
    ok: { status: 200, description: "The client (never a hash)" },
  },
  {
    method: "patch",
    path: "/clients/{username}",
    summary: "Enable/disable, superuser, bound client id, expiry, description",
    scope: "admin",
    body: patchClientSchema,
    ok: { status: 200, description: "The updated client" },
  },
  {
    method: "post",
    path: "/clients/{username}/password",
    summary: "Rotate the password (supplied, or generated and returned once)",
    scope: "admin",
    body: rotatePasswordSchema,
    ok: { status: 200, description: "`{username, password_changed_at, password?}`" },
  },
  {
    method: "delete",
    path: "/clients/{username}",
    summary: "Delete a client",
    scope: "admin",
    ok: { status: 204, description: "Deleted" },
  },
  {
    method: "get",
    path: "/clients/{username}/acl",
    summary: "A client's roles, own rules and effective rules in evaluation order",
    scope: "read",
    ok: { status: 200, description: "`{username, roles, rules, effective}`" },
  },
  {
    method: "put",
    path: "/clients/{username}/acl",
    summary: "Replace a client's roles and/or own rules",
    scope: "admin",
    body: clientAclSchema,
    ok: { status: 200, description: "The client's ACL" },
  },
  {
    method: "get",
    path: "/clients/{username}/acl/check",
    summary: "What would the broker be told, and which rule decided",
    scope: "read",
    query: aclCheckSchema,
    ok: { status: 200, description: "`{result, reason, rule?, ruleIndex?}`" },
  },
  {
    method: "get",
    path: "/roles",
    summary: "List roles",
    scope: "read",
    ok: { status: 200, description: "`{data}`" },
  },
  {
    method: "post",
    path: "/roles",
    summary: "Create a role",
    scope: "admin",
    body: createRoleSchema,
    ok: { status: 201, description: "The role" },
  },
  {
    method: "get",
    path: "/roles/{name}",
    summary: "Get a role",
    scope: "read",
    ok: { status: 200, description: "The role" },
  },
  {
    method: "put",
    path: "/roles/{name}",
    summary: "Replace a role's description, default flag and rules",
    scope: "admin",
    body: replaceRoleSchema,
    ok: { status: 200, description: "The role" },
  },
  {
    method: "delete",
    path: "/roles/{name}",
    summary: "Delete a role (409 while assigned)",
    scope: "admin",
    ok: { status: 204, description: "Deleted" },
  },
  {
    method: "post",
    path: "/import",
    summary: "Import a mosquitto, EMQX or go-auth file (dry run, conflict policy)",
    scope: "admin",
    body: importRequestSchema,
    ok: { status: 200, description: "`{total, created, updated, skipped, failed}`" },
  },
  {
    method: "get",
    path: "/lockouts",
    summary: "Lockouts in force (all=true: also past ones)",
    scope: "read",
    query: lockoutQuerySchema,
    ok: { status: 200, description: "`{data}`" },
  },
  {
    method: "delete",
    path: "/lockouts",
    summary: "Clear lockouts for a username and/or source",
    scope: "admin",
    query: unlockQuerySchema,
    ok: { status: 200, description: "`{cleared}`" },
  },
  {
    method: "get",
    path: "/login-failures",
    summary: "Recent failed logins",
    scope: "read",
    query: failuresQuerySchema,
    ok: { status: 200, description: "`{data}`" },
  },
  {
    method: "get",
    path: "/audit",
    summary: "The audit trail of changes",
    scope: "read",
    query: auditQuerySchema,
    ok: { status: 200, description: "`{data}`" },
  },
];

const errorResponse = {
  description: "`{error: {code, message, details?}}`",
  content: {
    "application/json": {
      schema: z.toJSONSchema(
        z.object({
          error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
        }),
      ),
    },
  },
};

function queryParameters(query: z.ZodObject | undefined) {
  if (query === undefined) return [];
  const schema = z.toJSONSchema(query, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    in: "query",
    required: schema.required?.includes(name) ?? false,
    schema: s,
  }));
}

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of API_OPERATIONS) {
    const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      description: `Needs a token with scope \`${op.scope}\`.`,
      parameters: [...pathParams, ...queryParameters(op.query)],
      ...(op.body !== undefined && {
        requestBody: {
          required: true,
          content: {
            "application/json": { schema: z.toJSONSchema(op.body, { io: "input", unrepresentable: "any" }) },
          },
        },
      }),
      responses: {
        [op.ok.status]: { description: op.ok.description },
        "400": errorResponse,
        "401": errorResponse,
        ...(op.scope === "admin" && { "403": errorResponse }),
        ...(op.path.includes("{") && { "404": errorResponse }),
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "mqtt-authd provisioning API",
      version,
      description: "MQTT client credentials and topic ACLs. Errors: `{error: {code, message, details?}}`.",
    },
    servers: [{ url: "/api/v1" }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}
