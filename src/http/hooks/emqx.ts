import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type Request, type Response, Router } from "express";
import { LRUCache } from "lru-cache";
import type { Level, Logger } from "pino";
import { z } from "zod";
import { type EmqxAclRule, emqxExactPrefix, toEmqxAcl } from "../../acl/emqx.js";
import type { Authenticate, AuthnDecision } from "../../core/authenticate.js";
import type { Authorize } from "../../core/authorize.js";
import { AppError } from "../../errors.js";
import { qosStringSchema, retainStringSchema } from "../../schemas/acl.js";
import type { ClientRecord, SourcedRule } from "../../store/types.js";
import { type ETagFn, JsonAnswer } from "../json-answer.js";
import { logs, requestIdOf, requestLine } from "../request-log.js";
import { SECURITY_HEADERS } from "../security-headers.js";
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

export type EmqxAuthnFields = z.output<typeof emqxAuthnSchema>;
export type EmqxAuthzFields = z.output<typeof emqxAuthzSchema>;

/** A field of the schemas above, read without zod: the value, or undefined when it is not valid. */
const text = (v: unknown, max: number): string | undefined =>
  v === undefined ? "" : typeof v === "string" && v.length <= max ? v : undefined;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const QOS = { "0": 0, "1": 1, "2": 2 } as const;

/**
 * `emqxAuthnSchema` for the request every CONNECT sends: a well-formed one is read directly (the same
 * output as the schema's), anything else goes through the schema, for the same answer and the same
 * 400 it always gave.
 */
export function parseAuthnFields(value: unknown): EmqxAuthnFields {
  if (isRecord(value)) {
    const username = text(value.username, 65535);
    const password = text(value.password, 65535);
    const clientid = text(value.clientid, 65535);
    const peerhost = text(value.peerhost, 64);
    if (
      username !== undefined &&
      password !== undefined &&
      clientid !== undefined &&
      peerhost !== undefined
    ) {
      return { username, password, clientid, peerhost };
    }
  }
  return parseOr400(emqxAuthnSchema, value, "authentication request");
}

/** `emqxAuthzSchema`, read the same way as `parseAuthnFields`. */
export function parseAuthzFields(value: unknown): EmqxAuthzFields {
  if (isRecord(value)) {
    const username = text(value.username, 65535);
    const clientid = text(value.clientid, 65535);
    const peerhost = text(value.peerhost, 64);
    const { topic, action, qos, retain } = value;
    if (
      username !== undefined &&
      clientid !== undefined &&
      peerhost !== undefined &&
      typeof topic === "string" &&
      topic.length >= 1 &&
      topic.length <= 65535 &&
      (action === "publish" || action === "subscribe") &&
      (qos === undefined || qos === "0" || qos === "1" || qos === "2") &&
      (retain === undefined || retain === "true" || retain === "false")
    ) {
      return {
        username,
        clientid,
        peerhost,
        topic,
        action,
        qos: qos === undefined ? 0 : QOS[qos],
        retain: retain === "true",
      };
    }
  }
  return parseOr400(emqxAuthzSchema, value, "authorization request");
}

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

/** How a hook logs: the request's child logger, made only when something is written. */
export interface HookLog {
  get(): Logger;
  enabled(level: Level): boolean;
}

/** An Express request's log as a HookLog. */
export const hookLog = (req: Request): HookLog => ({
  get: () => req.log,
  enabled: (level) => logs(req, level),
});

/**
 * "Cannot decide now" (the database is unreachable, say) is a prompt `ignore`, never a late answer or
 * a 500: EMQX moves on to its next source, or denies if we are the only one.
 */
export async function decideOrIgnore<D>(
  log: () => Logger,
  decide: () => Promise<D>,
): Promise<D | { result: "ignore"; reason: "unavailable" }> {
  try {
    return await decide();
  } catch (err) {
    log().error({ err }, "cannot decide: answering ignore");
    return { result: "ignore", reason: "unavailable" };
  }
}

/**
 * A login through any broker hook: decided (a prompt ignore when it cannot be), then logged with
 * `who` (never the password) — a refusal at info, an allow at debug. `who` is built only when a
 * line is written: at the usual levels an allow writes none.
 */
export async function decideLogin(
  log: HookLog,
  decide: () => Promise<AuthnDecision>,
  who: () => Record<string, string>,
): Promise<AuthnDecision> {
  const decision = await decideOrIgnore(log.get, decide);
  if (decision.result !== "allow")
    log.get().info({ ...who(), reason: decision.reason }, `authn ${decision.result}`);
  else if (log.enabled("debug")) log.get().debug({ ...who(), path: decision.path }, "authn allow");
  return decision;
}

export interface EmqxHookDeps {
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly noMatch: "allow" | "deny";
  /** The header carrying the hook secret, and a constant-time check of its value. */
  readonly secretHeader: string;
  readonly secretMatches: (presented: string) => boolean;
}

/** What every answer carries after its request id (the Express edge sets the same), flattened once. */
const EDGE_HEADERS = SECURITY_HEADERS.flat();

/** Bodies EMQX sends are small (a password is at most 64 KiB). */
const BODY_LIMIT = 200 * 1024;

/** The answers that carry nothing but their result, serialised once. */
const RESULT_ANSWERS = {
  allow: new JsonAnswer({ result: "allow" }),
  deny: new JsonAnswer({ result: "deny" }),
  ignore: new JsonAnswer({ result: "ignore" }),
} as const;

interface RenderedLogin {
  readonly rules: readonly SourcedRule[];
  readonly clientid: string;
  readonly isSuperuser: boolean;
  readonly expiresAt: string | null;
  readonly answer: JsonAnswer;
}

/**
 * The login answer, rendered once per client and kept while everything it is made of stays the same.
 * The rules list is compared by identity: the store hands out the same list while the client's rules
 * are unchanged and a new one after any change (rules, roles or assignments), so a changed rule
 * renders anew at the next login. Bounded by entries and by bytes.
 */
function loginAnswers(noMatch: "allow" | "deny") {
  const cache = new LRUCache<string, RenderedLogin>({
    max: 100_000,
    maxSize: 32 * 1024 * 1024,
    sizeCalculation: (r) => r.answer.byteLength + r.clientid.length + 64,
  });
  return (decision: AuthnDecision, clientid: string): JsonAnswer => {
    if (decision.result !== "allow") return RESULT_ANSWERS[decision.result];
    const { client, rules } = decision;
    if (rules === undefined) return new JsonAnswer(renderAuthn(decision, { clientid, noMatch }));
    const hit = cache.get(client.username);
    if (hit !== undefined && sameLogin(hit, client, rules, clientid)) return hit.answer;
    const answer = new JsonAnswer(renderAuthn(decision, { clientid, noMatch }));
    const { isSuperuser, expiresAt } = client;
    cache.set(client.username, { rules, clientid, isSuperuser, expiresAt, answer });
    return answer;
  };
}

const sameLogin = (r: RenderedLogin, client: ClientRecord, rules: readonly SourcedRule[], clientid: string) =>
  r.rules === rules &&
  r.clientid === clientid &&
  r.isSuperuser === client.isSuperuser &&
  r.expiresAt === client.expiresAt;

/**
 * Hands a request the lane took back to Express, with the error to answer: the lane writes only
 * answers, so every error gets the one renderer, its headers, its log line and its metric.
 */
export type LaneFallback = (err: unknown) => void;

/**
 * Answers a request on a bare Node request and response, below Express, or returns false without
 * touching it (nothing read, nothing written) so that Express answers it.
 */
export type RawLane = (req: IncomingMessage, res: ServerResponse, fallback: LaneFallback) => boolean;

export interface EmqxLaneDeps {
  readonly logger: Logger;
  /** The per-request metric and the ETag function the Express app uses, so both paths answer alike. */
  readonly observeHttp: (route: string, method: string, status: number, seconds: number) => void;
  readonly etagFn: ETagFn | undefined;
}

/**
 * The EMQX hooks. `router`, mounted at `/mqtt` behind the hook secret, answers every form of request
 * (JSON, form, GET, and every error). `lane` answers the one form EMQX sends on every CONNECT,
 * publish and subscribe — `POST /mqtt/auth|acl` with exactly `application/json`, a length and the
 * right secret — on the bare Node request, ahead of Express, with the same decisions and the same
 * answers, headers included. Measured: Express's per-request setup, router walk and generic body
 * parser cost more than the decision itself. Anything else the lane leaves untouched, body unread;
 * an error after it took a request (a body that is not JSON, a field of the wrong type) goes to
 * Express's error handler through `fallback`.
 */
export function emqxHooks(deps: EmqxHookDeps): {
  router: Router;
  lane: (edge: EmqxLaneDeps) => RawLane;
} {
  const router = Router();
  // EMQX sends exactly `application/json` or a form; bodies are small (a password is at most 64 KiB).
  router.use(express.json({ limit: BODY_LIMIT, type: "application/json" }));
  router.use(
    express.urlencoded({ limit: BODY_LIMIT, extended: false, type: "application/x-www-form-urlencoded" }),
  );
  const loginAnswer = loginAnswers(deps.noMatch);

  /** One login, decided and logged: its answer. Throws AppError (400) for fields EMQX never sends. */
  const authAnswer = async (body: unknown, log: HookLog): Promise<JsonAnswer> => {
    const fields = parseAuthnFields(body);
    const decision = await decideLogin(
      log,
      () => deps.authenticate(fields),
      () => ({ username: fields.username, clientid: fields.clientid, peerhost: fields.peerhost }),
    );
    return loginAnswer(decision, fields.clientid);
  };

  const aclAnswer = async (body: unknown, log: HookLog): Promise<JsonAnswer> => {
    const fields = parseAuthzFields(body);
    const decision = await decideOrIgnore(log.get, () => deps.authorize(fields));
    if (log.enabled("debug")) {
      log
        .get()
        .debug(
          { username: fields.username, action: fields.action, topic: fields.topic, reason: decision.reason },
          `authz ${decision.result}`,
        );
    }
    return RESULT_ANSWERS[decision.result];
  };

  const routed =
    (answer: (body: unknown, log: HookLog) => Promise<JsonAnswer>) => async (req: Request, res: Response) => {
      (await answer(hookFields(req), hookLog(req))).send(req, res);
    };
  router.post("/auth", routed(authAnswer));
  router.get("/auth", routed(authAnswer));
  router.post("/acl", routed(aclAnswer));
  router.get("/acl", routed(aclAnswer));

  const secretHeader = deps.secretHeader.toLowerCase();
  const lane =
    (edge: EmqxLaneDeps): RawLane =>
    (req, res, fallback) => {
      const url = req.url ?? "";
      const answer = url === "/mqtt/auth" ? authAnswer : url === "/mqtt/acl" ? aclAnswer : undefined;
      const headers = req.headers;
      const length = Number(headers["content-length"]);
      const presented = headers[secretHeader];
      if (
        answer === undefined ||
        req.method !== "POST" ||
        headers["content-type"] !== "application/json" ||
        headers["content-encoding"] !== undefined ||
        headers["transfer-encoding"] !== undefined ||
        !(length > 0 && length <= BODY_LIMIT) ||
        typeof presented !== "string" ||
        !deps.secretMatches(presented)
      ) {
        return false;
      }
      const started = performance.now();
      const id = requestIdOf(headers);
      let child: Logger | undefined;
      const log: HookLog = {
        get: () => {
          child ??= edge.logger.child({ reqId: id });
          return child;
        },
        enabled: (level) => edge.logger.isLevelEnabled(level),
      };
      let first: Buffer | undefined;
      let more: Buffer[] | undefined;
      req.on("data", (chunk: Buffer) => {
        if (first === undefined) {
          first = chunk;
          return;
        }
        more ??= [first];
        more.push(chunk);
      });
      req.once("error", () => fallback(new AppError("invalid_request", "request body was incomplete")));
      req.once("end", () => {
        let body: unknown;
        try {
          const bytes = more === undefined ? first : Buffer.concat(more);
          // express.json decodes with iconv-lite, which drops a leading byte order mark.
          const text = bytes?.toString("utf8") ?? "";
          body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
        } catch {
          body = undefined;
        }
        // As express.json (strict): only an object or an array is a JSON body.
        if (typeof body !== "object" || body === null) {
          fallback(new AppError("invalid_json", "request body is not valid JSON"));
          return;
        }
        answer(body, log)
          .then((json) => {
            json.write(res, ["x-request-id", id, ...EDGE_HEADERS], edge.etagFn);
            const ms = performance.now() - started;
            edge.observeHttp(url, "POST", 200, ms / 1000);
            if (log.enabled("debug")) log.get().debug(requestLine("POST", url, 200, ms), "request");
          })
          .catch(fallback);
      });
      return true;
    };
  return { router, lane };
}
