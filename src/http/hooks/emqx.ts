import express, { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Authenticate, AuthnDecision } from "../../core/authenticate.js";
import { AppError } from "../../errors.js";
import { parseOr400 } from "../validate.js";

/**
 * EMQX 5's HTTP authenticator (shared/reference/emqx-http-auth.md). EMQX renders every placeholder as a
 * string, and an undefined one as "": so every field is an optional string here, and a missing
 * username is simply an unknown user. Extra fields an operator templates in (cert_cn, zone…) are
 * accepted and ignored.
 */
const field = z.string().max(65535).default("");
export const emqxAuthnSchema = z.object({
  username: field,
  password: field,
  clientid: field,
  peerhost: z.string().max(64).default(""),
});

/** EMQX sends JSON, a form, or (GET) query parameters: the same fields in any of the three. */
export function hookFields(req: Request): unknown {
  if (req.method === "GET") return req.query;
  if (req.body === undefined) {
    throw new AppError("unsupported_media_type", "send application/json or application/x-www-form-urlencoded");
  }
  return req.body;
}

export interface EmqxAuthnResponse {
  result: "allow" | "deny" | "ignore";
  is_superuser?: boolean;
  expire_at?: number;
}

/** The body EMQX parses: `expire_at` in Unix seconds (EMQX rejects milliseconds). */
export function renderAuthn(decision: AuthnDecision): EmqxAuthnResponse {
  if (decision.result !== "allow") return { result: decision.result };
  const body: EmqxAuthnResponse = { result: "allow", is_superuser: decision.client.isSuperuser };
  if (decision.client.expiresAt !== null) body.expire_at = Math.floor(Date.parse(decision.client.expiresAt) / 1000);
  return body;
}

/**
 * "Cannot decide now" (the database is unreachable, say) is a prompt `ignore`, never a late answer or
 * a 500: EMQX moves on to its next authenticator, or denies if we are the only one.
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

export function emqxHooks(deps: { authenticate: Authenticate }): Router {
  const router = Router();
  // EMQX sends exactly `application/json` or a form; bodies are small (a password is at most 64 KiB).
  router.use(express.json({ limit: "200kb", type: "application/json" }));
  router.use(express.urlencoded({ limit: "200kb", extended: false, type: "application/x-www-form-urlencoded" }));

  const auth = async (req: Request, res: Response) => {
    const fields = parseOr400(emqxAuthnSchema, hookFields(req), "authentication request");
    const decision = await decideOrIgnore(req, () => deps.authenticate(fields));
    if (decision.result === "allow") {
      req.log.debug({ username: fields.username, clientid: fields.clientid }, "authn allow");
    } else {
      req.log.info(
        { username: fields.username, clientid: fields.clientid, peerhost: fields.peerhost, reason: decision.reason },
        `authn ${decision.result}`,
      );
    }
    res.status(200).json(renderAuthn(decision));
  };
  router.post("/mqtt/auth", auth);
  router.get("/mqtt/auth", auth);
  return router;
}
