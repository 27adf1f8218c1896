import express, { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { RequestAction } from "../../acl/types.js";
import type { Authenticate } from "../../core/authenticate.js";
import type { Authorize, AuthzDecision } from "../../core/authorize.js";
import { AppError } from "../../errors.js";
import { parseOr400 } from "../validate.js";
import type { FindActiveClient } from "./client-standing.js";
import { decideLogin, decideOrIgnore, hookLog } from "./emqx.js";

/**
 * mosquitto-go-auth's HTTP backend (shared/reference/peer-brokers.md §1). go-auth posts JSON
 * (params_mode json, the default; also with GET or PUT) or a form (params_mode form), and reads the
 * answer in the one response mode it was configured with. One answer serves both `status` and
 * `json`: 200 `{"ok":true}` to allow, 403 `{"ok":false,…}` to deny. `text` mode (a bare `ok`) is
 * not supported.
 *
 * go-auth caches denials but not errors, and retries errors: "cannot decide now" is therefore a
 * prompt 503, never a 403 that would be remembered for auth_cache_seconds.
 */
const field = z.string().max(65535).default("");

export const goauthUserSchema = z.object({ username: field, password: field, clientid: field });
export const goauthSuperuserSchema = z.object({ username: field });
export const goauthAclSchema = z.object({
  username: field,
  clientid: field,
  topic: z.string().min(1).max(65535),
  // A number in JSON, a string in a form. Mosquitto answers unsubscribe (8) itself for this plugin API.
  acc: z.coerce
    .number()
    .int()
    .refine((n) => n >= 1 && n <= 4, "must be 1 (read), 2 (write), 3 (readwrite) or 4 (subscribe)"),
});

/**
 * The checks one `acc` stands for. Read (1) is asked per delivered message with the topic name: it
 * is allowed when subscribing to exactly that topic would be. Subscribe (4) carries the filter.
 */
export function actionsFor(acc: number): RequestAction[] {
  if (acc === 2) return ["publish"];
  if (acc === 3) return ["subscribe", "publish"];
  return ["subscribe"];
}

/** go-auth sends a JSON body even with GET; query parameters are only a fallback. */
function fields(req: Request): unknown {
  return req.body !== undefined ? req.body : req.query;
}

type Answer = "allow" | "deny" | "unavailable";

function send(res: Response, answer: Answer): void {
  if (answer === "allow") res.status(200).json({ ok: true });
  // Uniform outside: the reason is in our log, not in the broker's.
  else if (answer === "deny") res.status(403).json({ ok: false, error: "not allowed" });
  else res.status(503).json({ ok: false, error: "cannot decide now" });
}

function answerOf(decision: { result: string; reason?: string }): Answer {
  if (decision.result === "allow") return "allow";
  return decision.reason === "overloaded" || decision.reason === "unavailable" ? "unavailable" : "deny";
}

export interface GoauthHookDeps {
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly findActiveClient: FindActiveClient;
}

/** Mounted at `/goauth/<secret>` (go-auth cannot send a custom header: see path-secret.ts). */
export function goauthHooks(deps: GoauthHookDeps): Router {
  const router = Router();
  router.use(express.json({ limit: "200kb", type: "application/json" }));
  router.use(
    express.urlencoded({ limit: "200kb", extended: false, type: "application/x-www-form-urlencoded" }),
  );

  const user = async (req: Request, res: Response) => {
    const f = parseOr400(goauthUserSchema, fields(req), "user request");
    // Mosquitto's legacy plugin API gives go-auth no peer address.
    const decision = await decideLogin(
      hookLog(req),
      () => deps.authenticate({ ...f, peerhost: "" }),
      () => ({ username: f.username, clientid: f.clientid }),
    );
    send(res, answerOf(decision));
  };

  // go-auth lets a superuser skip every ACL check; asked with the username only.
  const superuser = async (req: Request, res: Response) => {
    const f = parseOr400(goauthSuperuserSchema, fields(req), "superuser request");
    const client = await deps.findActiveClient(f.username);
    send(res, client?.isSuperuser === true ? "allow" : "deny");
  };

  const acl = async (req: Request, res: Response) => {
    const f = parseOr400(goauthAclSchema, fields(req), "ACL request");
    // readwrite needs both; the first refusal decides.
    const decision = await decideOrIgnore(
      () => req.log,
      async () => {
        let last: AuthzDecision | undefined;
        for (const action of actionsFor(f.acc)) {
          // go-auth does not pass QoS or retain: the plain message.
          const { username, clientid, topic } = f;
          last = await deps.authorize({ username, clientid, topic, action, qos: 0, retain: false });
          if (last.result !== "allow") break;
        }
        return last!;
      },
    );
    req.log.debug(
      { username: f.username, acc: f.acc, topic: f.topic, reason: decision.reason },
      `authz ${decision.result}`,
    );
    send(res, answerOf(decision));
  };

  for (const [path, handler] of [
    ["/user", user],
    ["/superuser", superuser],
    ["/acl", acl],
  ] as const) {
    router.post(path, handler);
    router.put(path, handler);
    router.get(path, handler);
  }
  router.use((_req, _res, next) => next(new AppError("not_found", "no such go-auth hook")));
  return router;
}
