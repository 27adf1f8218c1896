import request from "supertest";
import { expect } from "vitest";
import { bearer, hookHeaders, type TestContext } from "./context.js";

/** A client as POST /api/v1/clients answers it (`password` only when the server generated one). */
export interface ProvisionedClient {
  username: string;
  state: string;
  enabled: boolean;
  is_superuser: boolean;
  client_id: string | null;
  expires_at: string | null;
  description: string;
  password_origin: string;
  hash_format: string;
  password?: string;
}

/** Creates a client over the provisioning API, as an admin would. */
export async function provision(ctx: TestContext, body: Record<string, unknown>): Promise<ProvisionedClient> {
  const res = await request(ctx.app).post("/api/v1/clients").set(bearer).send(body);
  expect(res.status, res.text).toBe(201);
  return res.body as ProvisionedClient;
}

export type HookEncoding = "json" | "form" | "query";
export const HOOK_ENCODINGS: readonly HookEncoding[] = ["json", "form", "query"];

export interface HookFields {
  username?: string;
  password?: string;
  clientid?: string;
  peerhost?: string;
}

/** Calls /mqtt/auth as EMQX does: a JSON body, a form body or GET query parameters, all string values. */
export function callAuthHook(
  ctx: TestContext,
  fields: HookFields,
  encoding: HookEncoding = "json",
  headers: Record<string, string> = hookHeaders,
): request.Test {
  const full = { clientid: "c1", peerhost: "10.0.0.1", ...fields };
  switch (encoding) {
    case "json":
      return request(ctx.app)
        .post("/mqtt/auth")
        .set(headers)
        .set("content-type", "application/json")
        .send(JSON.stringify(full));
    case "form":
      return request(ctx.app).post("/mqtt/auth").set(headers).type("form").send(full);
    case "query":
      return request(ctx.app).get("/mqtt/auth").set(headers).query(full);
  }
}

/** The body EMQX would parse, after checking the status and content type it requires. */
export async function authDecision(
  ctx: TestContext,
  fields: HookFields,
  encoding: HookEncoding = "json",
): Promise<Record<string, unknown>> {
  const res = await callAuthHook(ctx, fields, encoding);
  expect(res.status, res.text).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^application\/json(;|$)/);
  return res.body as Record<string, unknown>;
}
