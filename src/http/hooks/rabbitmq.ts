import express, { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Authenticate } from "../../core/authenticate.js";
import type { Authorize } from "../../core/authorize.js";
import { AppError } from "../../errors.js";
import { parseOr400 } from "../validate.js";
import type { FindActiveClient } from "./client-standing.js";
import { decideLogin, decideOrIgnore, hookFields, hookLog } from "./emqx.js";

/**
 * RabbitMQ's `rabbitmq_auth_backend_http` (shared/reference/peer-brokers.md §3, §7), as the MQTT plugin
 * uses it: a form body (http_method = post) or query parameters (the default, get), and a plain-text
 * answer `allow` or `deny` with status 200. Anything else RabbitMQ logs as an error and refuses; we use
 * that on purpose for "cannot decide now" (503), which RabbitMQ's cache never keeps.
 */
const field = z.string().max(65535).default("");
const username = z.string().max(65535);

export const rabbitUserSchema = z.object({ username, password: field, client_id: field, vhost: field });
export const rabbitVhostSchema = z.object({
  username,
  vhost: field,
  client_id: z.string().max(65535).optional(),
});
export const rabbitResourceSchema = z.object({
  username,
  vhost: field,
  resource: z.string().max(64),
  name: z.string().max(65535),
  permission: z.enum(["configure", "write", "read"]),
  client_id: z.string().max(65535).optional(),
});
export const rabbitTopicSchema = z.object({
  username,
  vhost: field,
  name: z.string().max(65535),
  permission: z.enum(["write", "read"]),
  routing_key: z.string().max(65535),
  "variable_map.client_id": field,
});

/**
 * The MQTT plugin turns `/` into `.` and `+` into `*` (`#` stays) to build routing keys; this undoes
 * it. Dots the device wrote are not escaped by RabbitMQ, so `a.b/c` arrives as `a/b/c`: the rules see
 * the topic RabbitMQ actually routes on.
 */
export function routingKeyToTopic(routingKey: string): string {
  return routingKey.replaceAll(".", "/").replaceAll("*", "+");
}

/** The exchange the MQTT plugin publishes to and binds on (`mqtt.exchange`, default amq.topic). */
const MQTT_EXCHANGE = "amq.topic";
/** The plugin's per-connection queues: `mqtt-subscription-<client id>qos0` and `…qos1`. */
const SUBSCRIPTION_QUEUE = /^mqtt-subscription-(.*)qos[01]$/s;

export interface RabbitmqHookDeps {
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly findActiveClient: FindActiveClient;
}

type Answer = "allow" | "deny" | "unavailable";

function send(res: Response, answer: Answer): void {
  if (answer === "unavailable") res.status(503).type("text/plain").send("cannot decide now");
  else res.status(200).type("text/plain").send(answer);
}

/** Mounted at `/rabbitmq/<secret>` (RabbitMQ cannot send a header: see path-secret.ts). */
export function rabbitmqHooks(deps: RabbitmqHookDeps): Router {
  const router = Router();
  router.use(
    express.urlencoded({ limit: "200kb", extended: false, type: "application/x-www-form-urlencoded" }),
  );

  // Tags only matter to the management plugin: no MQTT client, superuser or not, becomes a broker
  // administrator through us. Superusers get their powers from the resource and topic answers.
  const user = async (req: Request, res: Response) => {
    const f = parseOr400(rabbitUserSchema, hookFields(req), "user request");
    const decision = await decideLogin(
      hookLog(req),
      () =>
        deps.authenticate({
          username: f.username,
          password: f.password,
          clientid: f.client_id,
          peerhost: "",
        }),
      () => ({ username: f.username, clientid: f.client_id }),
    );
    // RabbitMQ has no "ignore": a refusal already makes it ask its next auth backend.
    if (decision.result === "allow") return send(res, "allow");
    return send(
      res,
      decision.reason === "overloaded" || decision.reason === "unavailable" ? "unavailable" : "deny",
    );
  };

  // Asked once per connection, right after a successful login.
  const vhost = async (req: Request, res: Response) => {
    const f = parseOr400(rabbitVhostSchema, hookFields(req), "vhost request");
    const client = await deps.findActiveClient(f.username, f.client_id);
    send(res, client === null ? "deny" : "allow");
  };

  // The queues and exchange the MQTT plugin declares, binds and uses for this connection.
  const resource = async (req: Request, res: Response) => {
    const f = parseOr400(rabbitResourceSchema, hookFields(req), "resource request");
    const client = await deps.findActiveClient(f.username);
    if (client === null) return send(res, "deny");
    if (client.isSuperuser) return send(res, "allow");
    if (f.resource === "exchange") {
      return send(res, f.name === MQTT_EXCHANGE && f.permission !== "configure" ? "allow" : "deny");
    }
    if (f.resource !== "queue") return send(res, "deny");
    const owner = SUBSCRIPTION_QUEUE.exec(f.name)?.[1];
    // The MQTT plugin names the connection's client_id (observed with 3.10.8); without it (an AMQP
    // connection with the same credentials), only a client bound to an id is held to its own queues.
    const expected = f.client_id ?? client.boundClientId;
    const own = owner !== undefined && (expected === null || expected === owner);
    send(res, own ? "allow" : "deny");
  };

  const topic = async (req: Request, res: Response) => {
    const f = parseOr400(rabbitTopicSchema, hookFields(req), "topic request");
    const action = f.permission === "write" ? "publish" : "subscribe";
    const topicName = routingKeyToTopic(f.routing_key);
    // RabbitMQ asks once per routing key and connection, without QoS or retain: the plain message.
    const decision = await decideOrIgnore(
      () => req.log,
      () =>
        deps.authorize({
          username: f.username,
          clientid: f["variable_map.client_id"],
          topic: topicName,
          action,
          qos: 0,
          retain: false,
        }),
    );
    req.log.debug(
      { username: f.username, action, topic: topicName, reason: decision.reason },
      `authz ${decision.result}`,
    );
    if (decision.result === "allow") return send(res, "allow");
    send(res, decision.reason === "unavailable" ? "unavailable" : "deny");
  };

  for (const [path, handler] of [
    ["/auth/user", user],
    ["/auth/vhost", vhost],
    ["/auth/resource", resource],
    ["/auth/topic", topic],
  ] as const) {
    router.post(path, handler);
    router.get(path, handler);
  }
  // Past the secret: never echo the path (it carries the secret) in a 404.
  router.use((_req, _res, next) => next(new AppError("not_found", "no such RabbitMQ hook")));
  return router;
}
