import type { AuditEntry } from "../store/types.js";
import type { Db } from "./open.js";

export type Audited = <T>(audit: AuditEntry, fn: () => T, changed: (result: T) => boolean) => T;

/** Runs a change and, if it reports one, its audit entry, in one IMMEDIATE transaction. */
export function createAudited(db: Db, now: () => string): Audited {
  const insert = db.prepare(
    "INSERT INTO audit_log (at, actor, action, target, details) VALUES (@at, @actor, @action, @target, @details)",
  );
  return (audit, fn, changed) =>
    db
      .transaction(() => {
        const result = fn();
        if (changed(result)) {
          insert.run({
            at: now(),
            actor: audit.actor,
            action: audit.action,
            target: audit.target,
            details: JSON.stringify(audit.details ?? {}),
          });
        }
        return result;
      })
      .immediate();
}
