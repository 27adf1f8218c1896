import express, { type Request, type Response, Router } from "express";
import { z } from "zod";
import { type EmqxAclRule, emqxExactPrefix, toEmqxAcl } from "../../acl/emqx.js";
import type { Authenticate, AuthnDecision } from "../../core/authenticate.js";
import type { Authorize } from "../../core/authorize.js";
import { AppError } from "../../errors.js";
import { qosStringSchema, retainStringSchema } from "../../schemas/acl.js";
import { parseOr400 } from "../validate.js";

/**
 * EMQX 5's HTTP authenticator and authorizer (shared/reference/emqx-http-auth.md). EMQX renders every
 * placeholder as a string, and an undefined one as "": so fields are optional strings here, and a
 * missing username is simply an unknown user. Extra fields an operator templates in (cert_cn,
 * zone…) are accepted and ignored.
 */
const field = z.string().max(65535).default("");
const peerhost = z.string().max(64).default("");

export const emqxAuthnSchema = z.object({ username: field, password: field, clientid: field, peerhost });

export const emqxAuthzSchema = z.object({
  username: field,
  clientid: field,
  peerhost,
  topic: z.string().min(1).max(65535),
  action: z.enum(["publish", "subscribe"]),
  qos: qosStringSchema,
  retain: retainStringSchema,
});

/** EMQX sends JSON, a form, or (GET) query parameters: the same fields in any of the three. */
export function hookFields(req: Request): unknown {
  if (req.method === "GET") return req.query;
  if (req.body === undefined) {
    throw new AppError(
      "unsupported_media_type",
      "send application/json or application/x-www-form-urlencoded",
    );
  }
  return req.body;
}

export interface EmqxAuthnResponse {
  result: "allow" | "deny" | "ignore";
  is_superuser?: boolean;
  expire_at?: number;
  acl?: EmqxAclRule[];
}

/**
 * The body EMQX parses: `expire_at` in Unix seconds (EMQX rejects milliseconds), and the client's
 * rules with placeholders expanded, cut before the first rule EMQX would match differently from us.
 * When nothing was cut and no_match is deny, a final deny-all lets EMQX decide every topic locally.
 */
export function renderAuthn(
  decision: AuthnDecision,
  opts: { clientid: string; noMatch: "allow" | "deny" },
): EmqxAuthnResponse {
  if (decision.result !== "allow") return { result: decision.result };
  const { client, rules } = decision;
  const body: EmqxAuthnResponse = { result: "allow", is_superuser: client.isSuperuser };
  if (client.expiresAt !== null) body.expire_at = Math.floor(Date.parse(client.expiresAt) / 1000);
  // Superusers skip authorization in EMQX altogether: a list would be noise.
  if (rules !== undefined && !client.isSuperuser) {
    const { acl, complete } = emqxExactPrefix(
      toEmqxAcl(rules, { username: client.username, clientid: opts.clientid }),
    );
    if (complete && opts.noMatch === "deny") acl.push({ permission: "deny", action: "all", topic: "#" });
    body.acl = acl;
  }
  return body;
}

/**
 * "Cannot decide now" (the database is unreachable, say) is a prompt `ignore`, never a late answer or
 * a 500: EMQX moves on to its next source, or denies if we are the only one.
 */
export async function decideOrIgnore<D>(
  req: Request,
  decide: () => Promise<D>,
): Promise<D | { result: "ignore"; reason: "unavailable" }> {
  try {
    return await decide();
  } catch (err) {
    req.log.error({ err }, "cannot decide: answering ignore");
    return { result: "ignore", reason: "unavailable" };
  }
}

export interface EmqxHookDeps {
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly noMatch: "allow" | "deny";
}

/** Mounted at `/mqtt`, behind the hook secret. */
export function emqxHooks(deps: EmqxHookDeps): Router {
  const router = Router();
  // EMQX sends exactly `application/json` or a form; bodies are small (a password is at most 64 KiB).
  router.use(express.json({ limit: "200kb", type: "application/json" }));
  router.use(
    express.urlencoded({ limit: "200kb", extended: false, type: "application/x-www-form-urlencoded" }),
  );

  const auth = async (req: Request, res: Response) => {
    const fields = parseOr400(emqxAuthnSchema, hookFields(req), "authentication request");
    const decision = await decideOrIgnore(req, () => deps.authenticate(fields));
    const who = { username: fields.username, clientid: fields.clientid, peerhost: fields.peerhost };
    if (decision.result === "allow") req.log.debug({ ...who, path: decision.path }, "authn allow");
    else req.log.info({ ...who, reason: decision.reason }, `authn ${decision.result}`);
    res.status(200).json(renderAuthn(decision, { clientid: fields.clientid, noMatch: deps.noMatch }));
  };

  const acl = async (req: Request, res: Response) => {
    const fields = parseOr400(emqxAuthzSchema, hookFields(req), "authorization request");
    const decision = await decideOrIgnore(req, () => deps.authorize(fields));
    req.log.debug(
      { username: fields.username, action: fields.action, topic: fields.topic, reason: decision.reason },
      `authz ${decision.result}`,
    );
    res.status(200).json({ result: decision.result });
  };

  router.post("/auth", auth);
  router.get("/auth", auth);
  router.post("/acl", acl);
  router.get("/acl", acl);
  return router;
}
