import { Router } from "express";
import type { Store } from "../store/types.js";

/**
 * For orchestrators: /healthz says the process is alive; /readyz that it can serve (the database
 * answers and the service is not shutting down). Neither needs a secret nor reveals anything.
 */
export function opsRouter(deps: { store: Pick<Store, "ping">; isShuttingDown: () => boolean }): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (req, res) => {
    if (deps.isShuttingDown()) {
      res.status(503).json({ status: "shutting_down" });
      return;
    }
    try {
      await deps.store.ping();
      res.json({ status: "ready" });
    } catch (err) {
      req.log.warn({ err }, "readiness check failed");
      res.status(503).json({ status: "database_unavailable" });
    }
  });
  return router;
}
