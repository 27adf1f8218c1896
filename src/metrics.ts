import { stat } from "node:fs/promises";
import type { RequestHandler } from "express";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Admission } from "./core/admission.js";
import type { Authenticate, VerifyLane } from "./core/authenticate.js";
import type { Authorize } from "./core/authorize.js";
import type { VerifyCache } from "./core/verify-cache.js";

/** Prometheus metrics (prom-client): one registry per service instance, so tests stay isolated. */
export interface Metrics {
  readonly registry: Registry;
  readonly lockouts: Counter<"scope">;
  instrumentAuthenticate(authenticate: Authenticate): Authenticate;
  instrumentAuthorize(authorize: Authorize): Authorize;
  /** Per-request latency by route template (never the raw path: usernames are not labels). */
  readonly httpMiddleware: RequestHandler;
  /** The same observation, for a request answered below Express (the EMQX hooks' lane). */
  observeHttp(route: string, method: string, status: number, seconds: number): void;
}

export function createMetrics(deps: {
  admission: Readonly<Record<VerifyLane, Admission>>;
  cache: VerifyCache;
  /** The SQLite file whose size is reported; null for PostgreSQL (the server reports its own). */
  sqlitePath: string | null;
}): Metrics {
  const lanes = Object.entries(deps.admission) as [VerifyLane, Admission][];
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mqtt_authd_" });

  const authn = new Counter({
    name: "mqtt_authd_authn_decisions_total",
    help: "Authentication decisions by result, reason and path (fast: verified-credential cache; slow: a real verify)",
    labelNames: ["result", "reason", "path"] as const,
    registers: [registry],
  });
  const authz = new Counter({
    name: "mqtt_authd_authz_decisions_total",
    help: "Authorization decisions by result and reason",
    labelNames: ["result", "reason"] as const,
    registers: [registry],
  });
  const lockouts = new Counter({
    name: "mqtt_authd_lockouts_total",
    help: "Lockouts started after repeated failures, by scope",
    labelNames: ["scope"] as const,
    registers: [registry],
  });
  const http = new Histogram({
    name: "mqtt_authd_http_request_duration_seconds",
    help: "HTTP request latency by route template, method and status",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 5],
    registers: [registry],
  });
  new Gauge({
    name: "mqtt_authd_verify_queue_depth",
    help: "Logins waiting for a slow-verify slot, by argon2 profile lane (light: generated secrets)",
    labelNames: ["lane"] as const,
    registers: [registry],
    collect() {
      for (const [lane, a] of lanes) this.set({ lane }, a.stats().queued);
    },
  });
  new Gauge({
    name: "mqtt_authd_verify_running",
    help: "Slow verifies running now, by lane",
    labelNames: ["lane"] as const,
    registers: [registry],
    collect() {
      for (const [lane, a] of lanes) this.set({ lane }, a.stats().running);
    },
  });
  new Counter({
    name: "mqtt_authd_verify_shed_total",
    help: "Logins answered 'ignore' because they could not be verified before the deadline, by lane",
    labelNames: ["lane"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [lane, a] of lanes) this.inc({ lane }, a.stats().shed);
    },
  });
  new Gauge({
    name: "mqtt_authd_fast_path_entries",
    help: "Verified credentials remembered for the fast path",
    registers: [registry],
    collect() {
      this.set(deps.cache.size);
    },
  });
  new Gauge({
    name: "mqtt_authd_database_size_bytes",
    help: "Size of the SQLite database file and its write-ahead log (absent with PostgreSQL)",
    registers: [registry],
    async collect() {
      const path = deps.sqlitePath;
      if (path === null || path === ":memory:") return;
      const sizes = await Promise.all(
        ["", "-wal"].map((suffix) =>
          stat(path + suffix).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      this.set(sizes.reduce((a, b) => a + b, 0));
    },
  });

  // One labels object per label combination, built once: the hot path only looks it up.
  const authnLabels = labelSets("result", "reason", "path");
  const authzLabels = labelSets("result", "reason");
  const httpLabels = labelSets("route", "method", "status");

  const observeHttp = (route: string, method: string, status: number, seconds: number) => {
    http.observe(httpLabels.get(route, method, String(status)), seconds);
  };

  return {
    registry,
    lockouts,
    observeHttp,
    instrumentAuthenticate: (authenticate) => async (req) => {
      const decision = await authenticate(req);
      const allowed = decision.result === "allow";
      authn.inc(
        authnLabels.get(decision.result, allowed ? "ok" : decision.reason, allowed ? decision.path : "none"),
      );
      return decision;
    },
    instrumentAuthorize: (authorize) => async (req) => {
      const decision = await authorize(req);
      authz.inc(authzLabels.get(decision.result, decision.reason));
      return decision;
    },
    httpMiddleware: (req, res, next) => {
      const started = performance.now();
      res.on("finish", () => {
        const route = req.route?.path === undefined ? "unmatched" : `${req.baseUrl}${String(req.route.path)}`;
        observeHttp(route, req.method, res.statusCode, (performance.now() - started) / 1000);
      });
      next();
    },
  };
}

/**
 * Interned label objects for prom-client, keyed by their values. Every label value here comes from a
 * closed set (decision results and reasons, route templates, HTTP methods and status codes), so the
 * map stays small; it is still capped, and simply starts over if ever exceeded.
 */
function labelSets<const N extends string>(...names: N[]) {
  const sets = new Map<string, Record<N, string>>();
  return {
    get(...values: string[]): Record<N, string> {
      const key = values.join("\0");
      let labels = sets.get(key);
      if (labels === undefined) {
        if (sets.size >= 10_000) sets.clear();
        labels = Object.fromEntries(names.map((n, i) => [n, values[i]])) as Record<N, string>;
        sets.set(key, labels);
      }
      return labels;
    },
  };
}
