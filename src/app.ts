import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type Express } from "express";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Authenticate } from "./core/authenticate.js";
import type { Authorize } from "./core/authorize.js";
import { AppError } from "./errors.js";
import { aclRouter } from "./http/api/acl.js";
import { requireJsonBody, requireToken } from "./http/api/auth.js";
import { clientsRouter } from "./http/api/clients.js";
import { importRouter } from "./http/api/import.js";
import { securityRouter } from "./http/api/security.js";
import { errorHandler, routeNotFound } from "./http/errors.js";
import { activeClientFinder } from "./http/hooks/client-standing.js";
import { emqxHooks, type RawLane } from "./http/hooks/emqx.js";
import { goauthHooks } from "./http/hooks/goauth.js";
import { behindPathSecret } from "./http/hooks/path-secret.js";
import { rabbitmqHooks } from "./http/hooks/rabbitmq.js";
import { requireHookSecret } from "./http/hooks/secret.js";
import { vernemqHooks } from "./http/hooks/vernemq.js";
import type { ETagFn } from "./http/json-answer.js";
import { openApiDocument } from "./http/openapi.js";
import { opsRouter } from "./http/ops.js";
import { requestLog } from "./http/request-log.js";
import { securityHeaders } from "./http/security-headers.js";
import type { Metrics } from "./metrics.js";
import { secretMatcher } from "./passwords/secrets.js";
import type { AclService } from "./services/acl.js";
import type { ClientService } from "./services/clients.js";
import type { ImportService } from "./services/import.js";
import type { TokenService } from "./services/tokens.js";
import type { Store } from "./store/types.js";
import { version } from "./version.js";

export interface AppDeps {
  readonly config: Pick<Config, "hookSecretHeader" | "aclNoMatch" | "contracts">;
  readonly hookSecret: string;
  readonly logger: Logger;
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly acl: AclService;
  readonly clients: ClientService;
  readonly tokens: TokenService;
  readonly imports: ImportService;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly lifecycle: { readonly shuttingDown: boolean };
}

/**
 * The HTTP service: a Node request listener (`http.createServer(app)`, or supertest's `request(app)`)
 * that answers the EMQX hooks' hot requests itself and hands everything else to `app.express`.
 */
export interface HttpApp {
  (req: IncomingMessage, res: ServerResponse): void;
  readonly express: Express;
}

/** An error the raw lane met after taking a request, for Express's error handler to answer. */
const LANE_ERROR = Symbol("mqtt-authd.laneError");
type LaneRequest = IncomingMessage & { [LANE_ERROR]?: unknown };

/** The app, built from its dependencies. It never listens: cli/serve.ts does, tests use supertest. */
export function createApp(deps: AppDeps): HttpApp {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  // What every request gets, in one middleware rather than four (each is a router step on the hot
  // path): its id and log, its latency metric, the security headers, and a 405 for OPTIONS, which
  // Express would otherwise answer itself in text/plain (this service answers no preflight). The
  // first three never fail and call `next` synchronously, last.
  const logRequest = requestLog(deps.logger);
  const measure = deps.metrics.httpMiddleware;
  const proceed = () => {};
  app.use((req, res, next) => {
    logRequest(req, res, proceed);
    measure(req, res, proceed);
    securityHeaders(req, res, proceed);
    const laneError = (req as LaneRequest)[LANE_ERROR];
    if (laneError !== undefined) next(laneError);
    else if (req.method === "OPTIONS") next(new AppError("method_not_allowed", "OPTIONS is not supported"));
    else next();
  });
  // The broker hooks first: they are the hot path (every CONNECT, publish and subscribe), and no
  // route below shares their paths, so nothing is skipped that could have answered them.
  let lane: RawLane | undefined;
  if (deps.config.contracts.has("emqx")) {
    const emqx = emqxHooks({
      authenticate: deps.authenticate,
      authorize: deps.authorize,
      noMatch: deps.config.aclNoMatch,
      secretHeader: deps.config.hookSecretHeader,
      secretMatches: secretMatcher(deps.hookSecret),
    });
    lane = emqx.lane({
      logger: deps.logger,
      observeHttp: deps.metrics.observeHttp,
      etagFn: app.get("etag fn") as ETagFn | undefined,
    });
    app.use("/mqtt", requireHookSecret(deps.config.hookSecretHeader, deps.hookSecret), emqx.router);
  }

  app.use(opsRouter({ store: deps.store, isShuttingDown: () => deps.lifecycle.shuttingDown }));
  // Scraped with a token (Prometheus: `authorization: { credentials_file: … }`), read scope is enough.
  app.get("/metrics", requireToken(deps.tokens), async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  // RabbitMQ, go-auth and VerneMQ cannot send a header: their secret is a path segment.
  const { authenticate, authorize } = deps;
  const findActiveClient = activeClientFinder(deps.store);
  const secretPath = (router: express.RequestHandler) => behindPathSecret(deps.hookSecret, router);
  if (deps.config.contracts.has("rabbitmq")) {
    app.use("/rabbitmq/:secret", secretPath(rabbitmqHooks({ authenticate, authorize, findActiveClient })));
  }
  if (deps.config.contracts.has("goauth")) {
    app.use("/goauth/:secret", secretPath(goauthHooks({ authenticate, authorize, findActiveClient })));
  }
  if (deps.config.contracts.has("vernemq")) {
    app.use("/vernemq/:secret", secretPath(vernemqHooks({ authenticate, authorize })));
  }

  const api = express.Router();
  // Public: it describes the API and holds no data, so client generators can fetch it freely.
  const openapi = openApiDocument(version());
  api.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  api.use(requireToken(deps.tokens));
  api.use(requireJsonBody);
  // Before the general parser: an import carries a whole file, the other bodies stay small.
  api.use("/import", express.json({ limit: "10mb", type: "application/json" }));
  api.use(express.json({ limit: "64kb", type: "application/json" }));
  api.use(clientsRouter(deps.clients));
  api.use(aclRouter(deps.acl));
  api.use(importRouter(deps.imports));
  api.use(securityRouter(deps.store));
  app.use("/api/v1", api);

  app.use(routeNotFound);
  app.use(errorHandler);

  const toExpress = (req: IncomingMessage, res: ServerResponse) => {
    app(req as express.Request, res as express.Response);
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const fallback = (err: unknown) => {
      (req as LaneRequest)[LANE_ERROR] = err;
      toExpress(req, res);
    };
    if (lane === undefined || !lane(req, res, fallback)) toExpress(req, res);
  };
  return Object.assign(handler, { express: app });
}
