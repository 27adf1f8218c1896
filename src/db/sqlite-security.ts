import type { FailureRecord, LockoutRecord, SecurityStore } from "../store/types.js";
import type { Audited } from "./audit.js";
import type { Db } from "./open.js";

interface LockoutRow {
  scope: LockoutRecord["scope"];
  username: string;
  peerhost: string;
  failures: number;
  lock_count: number;
  locked_at: string;
  locked_until: string;
}

const rowToLockout = (r: LockoutRow): LockoutRecord => ({
  scope: r.scope,
  username: r.username,
  peerhost: r.peerhost,
  failures: r.failures,
  lockCount: r.lock_count,
  lockedAt: r.locked_at,
  lockedUntil: r.locked_until,
});

export function createSqliteSecurityStore(db: Db, audited: Audited): SecurityStore {
  const stmt = {
    failure: db.prepare(
      "INSERT INTO login_failures (at, username, peerhost, clientid, reason) VALUES (@at, @username, @peerhost, @clientid, @reason)",
    ),
    active: db.prepare<{ username: string; peerhost: string; at: string }, LockoutRow>(
      `SELECT * FROM login_lockouts WHERE locked_until > @at AND (
         (scope = 'username+peerhost' AND username = @username AND peerhost = @peerhost)
         OR (scope = 'username' AND username = @username)
         OR (scope = 'peerhost' AND peerhost = @peerhost))`,
    ),
    upsert: db.prepare(
      `INSERT INTO login_lockouts (scope, username, peerhost, failures, lock_count, locked_at, locked_until)
       VALUES (@scope, @username, @peerhost, @failures, @lockCount, @lockedAt, @lockedUntil)
       ON CONFLICT (scope, username, peerhost) DO UPDATE SET failures = excluded.failures,
         lock_count = excluded.lock_count, locked_at = excluded.locked_at, locked_until = excluded.locked_until`,
    ),
  };

  return {
    async recordFailures(failures: readonly FailureRecord[]) {
      if (failures.length === 0) return;
      db.transaction(() => {
        for (const f of failures) stmt.failure.run(f);
      })();
    },

    async findActiveLockouts(username, peerhost, at) {
      return stmt.active.all({ username, peerhost, at }).map(rowToLockout);
    },

    async upsertLockout(l) {
      stmt.upsert.run(l);
    },

    async listLockouts(q) {
      const where: string[] = [];
      if (q.activeAt !== undefined) where.push("locked_until > @activeAt");
      if (q.username !== undefined) where.push("username = @username");
      if (q.peerhost !== undefined) where.push("peerhost = @peerhost");
      const sql = `SELECT * FROM login_lockouts ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                   ORDER BY locked_until DESC LIMIT 1000`;
      return (db.prepare(sql).all(q) as LockoutRow[]).map(rowToLockout);
    },

    async clearLockouts(q, audit) {
      const where: string[] = [];
      if (q.username !== undefined) where.push("username = @username");
      if (q.peerhost !== undefined) where.push("peerhost = @peerhost");
      if (where.length === 0) return 0;
      const del = db.prepare(`DELETE FROM login_lockouts WHERE ${where.join(" AND ")}`);
      return audited(
        audit,
        () => del.run(q).changes,
        (n) => n > 0,
      );
    },

    async listFailures(q) {
      const rows =
        q.username === undefined
          ? db
              .prepare(
                "SELECT at, username, peerhost, clientid, reason FROM login_failures ORDER BY id DESC LIMIT ?",
              )
              .all(q.limit)
          : db
              .prepare(
                "SELECT at, username, peerhost, clientid, reason FROM login_failures WHERE username = ? ORDER BY id DESC LIMIT ?",
              )
              .all(q.username, q.limit);
      return rows as FailureRecord[];
    },

    async prune(before) {
      return db.transaction(() => ({
        failures: db.prepare("DELETE FROM login_failures WHERE at < ?").run(before.failures).changes,
        audit: db.prepare("DELETE FROM audit_log WHERE at < ?").run(before.audit).changes,
      }))();
    },
  };
}
