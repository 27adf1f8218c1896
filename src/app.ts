import express, { type Express } from "express";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Authenticate } from "./core/authenticate.js";
import type { Authorize } from "./core/authorize.js";
import { aclRouter } from "./http/api/acl.js";
import { requireJsonBody, requireToken } from "./http/api/auth.js";
import { clientsRouter } from "./http/api/clients.js";
import { securityRouter } from "./http/api/security.js";
import { errorHandler, routeNotFound } from "./http/errors.js";
import { emqxHooks } from "./http/hooks/emqx.js";
import { requireHookSecret } from "./http/hooks/secret.js";
import { opsRouter } from "./http/ops.js";
import { requestLog } from "./http/request-log.js";
import { securityHeaders } from "./http/security-headers.js";
import type { Metrics } from "./metrics.js";
import type { AclService } from "./services/acl.js";
import type { ClientService } from "./services/clients.js";
import type { TokenService } from "./services/tokens.js";
import type { Store } from "./store/types.js";

export interface AppDeps {
  readonly config: Pick<Config, "hookSecretHeader" | "aclNoMatch" | "contracts">;
  readonly hookSecret: string;
  readonly logger: Logger;
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly acl: AclService;
  readonly clients: ClientService;
  readonly tokens: TokenService;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly lifecycle: { readonly shuttingDown: boolean };
}

/** The Express app, built from its dependencies. It never listens: main.ts does, tests use supertest. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.use(requestLog(deps.logger));
  app.use(deps.metrics.httpMiddleware);
  app.use(securityHeaders);
  app.use(opsRouter({ store: deps.store, isShuttingDown: () => deps.lifecycle.shuttingDown }));
  // Scraped with a token (Prometheus: `authorization: { credentials_file: … }`), read scope is enough.
  app.get("/metrics", requireToken(deps.tokens), async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  if (deps.config.contracts.has("emqx")) {
    app.use(
      "/mqtt",
      requireHookSecret(deps.config.hookSecretHeader, deps.hookSecret),
      emqxHooks({
        authenticate: deps.authenticate,
        authorize: deps.authorize,
        noMatch: deps.config.aclNoMatch,
      }),
    );
  }

  const api = express.Router();
  api.use(requireToken(deps.tokens));
  api.use(requireJsonBody);
  api.use(express.json({ limit: "64kb", type: "application/json" }));
  api.use(clientsRouter(deps.clients));
  api.use(aclRouter(deps.acl));
  api.use(securityRouter(deps.store));
  app.use("/api/v1", api);

  app.use(routeNotFound);
  app.use(errorHandler);
  return app;
}
