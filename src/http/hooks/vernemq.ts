import express, { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Authenticate } from "../../core/authenticate.js";
import type { Authorize, AuthzDecision } from "../../core/authorize.js";
import { AppError } from "../../errors.js";
import { parseOr400 } from "../validate.js";
import { decideLogin, decideOrIgnore, hookLog } from "./emqx.js";

/**
 * VerneMQ's `vmq_webhooks` (shared/reference/peer-brokers.md §4; vmq_webhooks_plugin.erl): a JSON POST
 * per hook, answered 200 with `{"result":"ok"}`, `{"result":{"error":"not_allowed"}}`, or
 * `{"result":"next"}` (ask the next plugin; when none says ok, VerneMQ refuses). `next` is our
 * "ignore": an unknown user with MQTT_AUTHD_UNKNOWN_USER=ignore, or "cannot decide now".
 * We send no cache-control, so VerneMQ caches nothing and every publish is asked.
 */
export const VERNEMQ_HOOKS = [
  "auth_on_register",
  "auth_on_register_m5",
  "auth_on_publish",
  "auth_on_publish_m5",
  "auth_on_subscribe",
  "auth_on_subscribe_m5",
] as const;
export type VernemqHook = (typeof VERNEMQ_HOOKS)[number];

// VerneMQ sends `null` for a missing username or password.
const nullable = z
  .string()
  .max(65535)
  .nullish()
  .transform((v) => v ?? "");
const qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);

export const vernemqRegisterSchema = z.object({
  peer_addr: nullable,
  username: nullable,
  password: nullable,
  client_id: z.string().max(65535),
});

export const vernemqPublishSchema = z.object({
  username: nullable,
  client_id: z.string().max(65535),
  topic: z.string().max(65535),
  qos,
  retain: z.boolean().default(false),
});

export const vernemqSubscribeSchema = z.object({
  username: nullable,
  client_id: z.string().max(65535),
  topics: z
    .array(
      // m5 adds no_local, rap and retain_handling: kept, so an allowed topic goes back unchanged.
      z.looseObject({ topic: z.string().max(65535), qos }),
    )
    .min(1)
    .max(10_000),
});

type Result = "ok" | "next" | { error: "not_allowed" };

const ok = { result: "ok" } as const;
const nextPlugin = { result: "next" } as const;
const notAllowed = { result: { error: "not_allowed" } } as const;

function resultOf(decision: { result: "allow" | "deny" | "ignore" }): { result: Result } {
  if (decision.result === "allow") return ok;
  return decision.result === "ignore" ? nextPlugin : notAllowed;
}

/** SUBACK codes for a refused topic: MQTT 3.1.1's failure, and MQTT 5's "not authorized". */
const REFUSED_V3 = 128;
const REFUSED_M5 = 135;

export interface VernemqHookDeps {
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
}

/** Mounted at `/vernemq/<secret>` (VerneMQ cannot send a custom header: see path-secret.ts). */
export function vernemqHooks(deps: VernemqHookDeps): Router {
  const router = Router();
  // A publish carries its payload, base64: allow for large messages (or set no_payload = on).
  router.use(express.json({ limit: "8mb", type: "application/json" }));

  const register = async (req: Request, body: unknown) => {
    const f = parseOr400(vernemqRegisterSchema, body, "auth_on_register request");
    const decision = await decideLogin(
      hookLog(req),
      () =>
        deps.authenticate({
          username: f.username,
          password: f.password,
          clientid: f.client_id,
          peerhost: f.peer_addr,
        }),
      () => ({ username: f.username, clientid: f.client_id, peerhost: f.peer_addr }),
    );
    return resultOf(decision);
  };

  const publish = async (req: Request, body: unknown) => {
    const f = parseOr400(vernemqPublishSchema, body, "auth_on_publish request");
    const decision = await decideOrIgnore(
      () => req.log,
      () =>
        deps.authorize({
          username: f.username,
          clientid: f.client_id,
          topic: f.topic,
          action: "publish",
          qos: f.qos,
          retain: f.retain,
        }),
    );
    req.log.debug(
      { username: f.username, topic: f.topic, reason: decision.reason },
      `authz ${decision.result}`,
    );
    return resultOf(decision);
  };

  // One answer for the whole SUBSCRIBE: every topic as asked when all are allowed, otherwise the list
  // with refused topics marked (VerneMQ replaces the requested list with ours).
  const subscribe = async (req: Request, body: unknown, m5: boolean) => {
    const f = parseOr400(vernemqSubscribeSchema, body, "auth_on_subscribe request");
    const decisions: (AuthzDecision | { result: "ignore"; reason: "unavailable" })[] = [];
    for (const t of f.topics) {
      const decision = await decideOrIgnore(
        () => req.log,
        () =>
          deps.authorize({
            username: f.username,
            clientid: f.client_id,
            topic: t.topic,
            action: "subscribe",
            qos: t.qos,
            retain: false,
          }),
      );
      req.log.debug(
        { username: f.username, topic: t.topic, reason: decision.reason },
        `authz ${decision.result}`,
      );
      // Unknown user or cannot decide: the same for every topic, so the whole call is the next plugin's.
      if (decision.result === "ignore") return nextPlugin;
      decisions.push(decision);
    }
    if (decisions.every((d) => d.result === "allow")) return ok;
    const refused = m5 ? REFUSED_M5 : REFUSED_V3;
    const topics = f.topics.map((t, i) =>
      decisions[i]?.result === "allow" ? t : { topic: t.topic, qos: refused },
    );
    return m5 ? { result: "ok", modifiers: { topics } } : { result: "ok", topics };
  };

  const handle = async (req: Request, res: Response, hook: string | undefined) => {
    const known = VERNEMQ_HOOKS.find((h) => h === hook);
    if (known === undefined) throw new AppError("invalid_request", "unknown or missing VerneMQ hook name");
    if (req.body === undefined) throw new AppError("unsupported_media_type", "send application/json");
    const body: unknown = req.body;
    let answer: unknown;
    if (known.startsWith("auth_on_register")) answer = await register(req, body);
    else if (known.startsWith("auth_on_publish")) answer = await publish(req, body);
    else answer = await subscribe(req, body, known === "auth_on_subscribe_m5");
    res.status(200).json(answer);
  };

  // One endpoint per hook, or a single endpoint that reads VerneMQ's `vernemq-hook` header.
  router.post("/", (req, res) => handle(req, res, req.get("vernemq-hook")));
  router.post("/:hook", (req, res) => handle(req, res, req.params.hook));
  router.use((_req, _res, next) => next(new AppError("not_found", "no such VerneMQ hook")));
  return router;
}
