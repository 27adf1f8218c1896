import express, { type Express } from "express";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Authenticate } from "./core/authenticate.js";
import type { Authorize } from "./core/authorize.js";
import { aclRouter } from "./http/api/acl.js";
import { requireJsonBody, requireToken } from "./http/api/auth.js";
import { clientsRouter } from "./http/api/clients.js";
import { errorHandler, routeNotFound } from "./http/errors.js";
import { emqxHooks } from "./http/hooks/emqx.js";
import { requireHookSecret } from "./http/hooks/secret.js";
import { requestLog } from "./http/request-log.js";
import type { AclService } from "./services/acl.js";
import type { ClientService } from "./services/clients.js";
import type { TokenService } from "./services/tokens.js";

export interface AppDeps {
  readonly config: Pick<Config, "hookSecretHeader" | "aclNoMatch" | "contracts">;
  readonly hookSecret: string;
  readonly logger: Logger;
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly acl: AclService;
  readonly clients: ClientService;
  readonly tokens: TokenService;
}

/** The Express app, built from its dependencies. It never listens: main.ts does, tests use supertest. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.use(requestLog(deps.logger));

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
  api.use((_req, res, next) => {
    res.setHeader("cache-control", "no-store");
    next();
  });
  api.use(requireToken(deps.tokens));
  api.use(requireJsonBody);
  api.use(express.json({ limit: "64kb", type: "application/json" }));
  api.use(clientsRouter(deps.clients));
  api.use(aclRouter(deps.acl));
  app.use("/api/v1", api);

  app.use(routeNotFound);
  app.use(errorHandler);
  return app;
}
