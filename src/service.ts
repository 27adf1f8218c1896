import type { Logger } from "pino";
import { createApp, type HttpApp } from "./app.js";
import { ensureAdminToken, resolveHookSecret } from "./bootstrap.js";
import type { Config } from "./config.js";
import { type Admission, createAdmissionLanes } from "./core/admission.js";
import { type AuthEvents, createAuthEvents } from "./core/auth-events.js";
import { type Authenticate, createAuthenticator, type VerifyLane } from "./core/authenticate.js";
import { type Authorize, createAuthorizer } from "./core/authorize.js";
import { createLockouts } from "./core/lockout.js";
import { createVerifyTiming } from "./core/timing.js";
import { createVerifyCache, type VerifyCache } from "./core/verify-cache.js";
import { openStore } from "./db/open-store.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createPasswordService, type PasswordService } from "./passwords/service.js";
import { type AclService, createAclService } from "./services/acl.js";
import { type ClientService, createClientService } from "./services/clients.js";
import { createImportService, type ImportService } from "./services/import.js";
import { createTokenService, type TokenService } from "./services/tokens.js";
import type { Store } from "./store/types.js";

/** Everything a process needs, wired once: the server and the CLI both start here. */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly passwords: PasswordService;
  readonly clients: ClientService;
  readonly tokens: TokenService;
  readonly events: AuthEvents;
  readonly cache: VerifyCache;
  readonly admission: Readonly<Record<VerifyLane, Admission>>;
  readonly authenticate: Authenticate;
  readonly authorize: Authorize;
  readonly acl: AclService;
  readonly imports: ImportService;
  readonly metrics: Metrics;
  /** Set when a graceful shutdown starts: /readyz turns 503 so load balancers drain us. */
  readonly lifecycle: { shuttingDown: boolean };
  close(): Promise<void>;
}

/** Opens the database, applies pending migrations and builds the services. */
export async function openServices(config: Config, logger: Logger): Promise<Services> {
  const store = await openStore(config.database, logger);
  const passwords = createPasswordService(config.argon2);
  const events = createAuthEvents(store, logger, config.lastLoginFlushMs);
  const cache = createVerifyCache(config.fastPath);
  // First guesses of one verify's duration (argon2 fills about a GiB/s per core); the estimates
  // follow real measurements from the first verify on.
  const guessMs = (p: Config["argon2"]["chosen"]) => Math.max(1, (p.memoryCost * p.timeCost) / 1000);
  // A lane of verify slots per argon2 profile (see admission.ts).
  const admission = createAdmissionLanes<VerifyLane>({
    lanes: {
      light: {
        concurrency: config.verifyConcurrency.light,
        initialVerifyMs: guessMs(config.argon2.generated),
      },
      full: { concurrency: config.verifyConcurrency.full, initialVerifyMs: guessMs(config.argon2.chosen) },
    },
  });
  const initialVerifyMs = guessMs(config.argon2.chosen);
  const metrics = createMetrics({
    admission,
    cache,
    sqlitePath: config.database.kind === "sqlite" ? config.database.path : null,
  });
  const lockouts = createLockouts({
    store,
    policy: config.lockout,
    logger,
    onLock: (scope) => metrics.lockouts.inc({ scope }),
  });
  const authenticate = createAuthenticator({
    store,
    passwords,
    events,
    cache,
    admission,
    lockouts,
    timing: createVerifyTiming({ initialMs: initialVerifyMs }),
    logger,
    deadlineMs: config.deadlineMs,
    waitMs: { light: config.deadlineMs, full: config.chosenVerifyWaitMs },
    unknownUser: config.unknownUser,
    passwordMaxBytes: config.passwordMaxBytes,
    withRules: config.emqxAclInAuth,
  });
  const instrumentedAuthenticate = metrics.instrumentAuthenticate(authenticate);
  const authorize = metrics.instrumentAuthorize(
    createAuthorizer({ store, unknownUser: config.unknownUser, noMatch: config.aclNoMatch }),
  );
  return {
    config,
    logger,
    store,
    passwords,
    clients: createClientService({ store, passwords, config }),
    tokens: createTokenService(store),
    events,
    cache,
    admission,
    authenticate: instrumentedAuthenticate,
    authorize,
    acl: createAclService({ store, authorize }),
    imports: createImportService({ store, passwords, config }),
    metrics,
    lifecycle: { shuttingDown: false },
    async close() {
      // Writes made off the request path land before the database closes (a pool would drop them).
      await lockouts.settle();
      await events.close();
      await store.close();
    },
  };
}

/** The HTTP app over the services, with first-start secrets resolved. */
export async function buildHttpApp(services: Services): Promise<HttpApp> {
  const { config, logger } = services;
  const hookSecret = await resolveHookSecret(config, logger);
  await ensureAdminToken(config, services.tokens, logger);
  return createApp({ ...services, hookSecret });
}
