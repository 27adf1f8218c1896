import { Router } from "express";
import { z } from "zod";
import { AppError } from "../../errors.js";
import { usernameSchema } from "../../schemas/clients.js";
import type { LockoutRecord, Store } from "../../store/types.js";
import { parseOr400 } from "../validate.js";
import { tokenActor } from "./auth.js";

/** What admins ask after an incident: who is locked out, who failed to log in, what changed. */

const limitSchema = z.coerce.number().int().min(1).max(1000).default(100);
const peerhostSchema = z.string().min(1).max(64);

export const lockoutQuerySchema = z.strictObject({
  username: usernameSchema.optional(),
  peerhost: peerhostSchema.optional(),
  all: z.enum(["true", "false"]).default("false"),
});

export const unlockQuerySchema = z
  .strictObject({ username: usernameSchema.optional(), peerhost: peerhostSchema.optional() })
  .refine((q) => q.username !== undefined || q.peerhost !== undefined, "give username, peerhost or both");

export const failuresQuerySchema = z.strictObject({
  username: usernameSchema.optional(),
  limit: limitSchema,
});
export const auditQuerySchema = z.strictObject({
  target: z.string().min(1).max(300).optional(),
  limit: limitSchema,
});

const toLockoutView = (l: LockoutRecord) => ({
  scope: l.scope,
  username: l.username,
  peerhost: l.peerhost,
  failures: l.failures,
  lock_count: l.lockCount,
  locked_at: l.lockedAt,
  locked_until: l.lockedUntil,
});

export function securityRouter(store: Store): Router {
  const router = Router();

  router.get("/lockouts", async (req, res) => {
    const q = parseOr400(lockoutQuerySchema, req.query, "query");
    const data = await store.listLockouts({
      ...(q.all === "false" && { activeAt: new Date().toISOString() }),
      ...(q.username !== undefined && { username: q.username }),
      ...(q.peerhost !== undefined && { peerhost: q.peerhost }),
    });
    res.json({ data: data.map(toLockoutView) });
  });

  router.delete("/lockouts", async (req, res) => {
    const q = parseOr400(unlockQuerySchema, req.query, "query");
    const cleared = await store.clearLockouts(
      {
        ...(q.username !== undefined && { username: q.username }),
        ...(q.peerhost !== undefined && { peerhost: q.peerhost }),
      },
      {
        actor: tokenActor(res),
        action: "lockout.clear",
        target: q.username ?? null,
        details: { ...q },
      },
    );
    if (cleared === 0) throw new AppError("not_found", "no lockout matches");
    res.json({ cleared });
  });

  router.get("/login-failures", async (req, res) => {
    const q = parseOr400(failuresQuerySchema, req.query, "query");
    res.json({
      data: await store.listFailures({
        limit: q.limit,
        ...(q.username !== undefined && { username: q.username }),
      }),
    });
  });

  router.get("/audit", async (req, res) => {
    const q = parseOr400(auditQuerySchema, req.query, "query");
    res.json({
      data: await store.listAudit({ limit: q.limit, ...(q.target !== undefined && { target: q.target }) }),
    });
  });

  return router;
}
