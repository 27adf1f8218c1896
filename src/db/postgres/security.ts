import type pg from "pg";
import type { FailureRecord, LockoutRecord, SecurityStore } from "../../store/types.js";
import { params } from "./rows.js";
import { iso, type PgAudited, withoutNul, withTransaction } from "./transaction.js";

interface LockoutRow {
  scope: LockoutRecord["scope"];
  username: string;
  peerhost: string;
  failures: number;
  lock_count: number;
  locked_at: Date;
  locked_until: Date;
}

const LOCKOUT_COLUMNS = "scope, username, peerhost, failures, lock_count, locked_at, locked_until";

const rowToLockout = (r: LockoutRow): LockoutRecord => ({
  scope: r.scope,
  username: r.username,
  peerhost: r.peerhost,
  failures: r.failures,
  lockCount: r.lock_count,
  lockedAt: iso(r.locked_at),
  lockedUntil: iso(r.locked_until),
});

/** On every login attempt: named, so parsed and planned once per connection. */
const FIND_ACTIVE_LOCKOUTS = "mqtt_authd_find_active_lockouts";

// Lockout keys and failure rows come from what brokers send: a NUL (which PostgreSQL text cannot
// hold) is stored, and looked up, as U+FFFD.
export function createPostgresSecurityStore(pool: pg.Pool, audited: PgAudited): SecurityStore {
  return {
    async recordFailures(failures: readonly FailureRecord[]) {
      if (failures.length === 0) return;
      // One statement per batch; rows keep the batch's order (listFailures reads newest id first).
      await pool.query(
        `INSERT INTO login_failures (at, username, peerhost, clientid, reason)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[])`,
        [
          failures.map((f) => f.at),
          failures.map((f) => withoutNul(f.username)),
          failures.map((f) => withoutNul(f.peerhost)),
          failures.map((f) => withoutNul(f.clientid)),
          failures.map((f) => withoutNul(f.reason)),
        ],
      );
    },

    async findActiveLockouts(username, peerhost, at) {
      const { rows } = await pool.query<LockoutRow>({
        name: FIND_ACTIVE_LOCKOUTS,
        text: `SELECT ${LOCKOUT_COLUMNS} FROM login_lockouts WHERE locked_until > $3::timestamptz AND (
                 (scope = 'username+peerhost' AND username = $1 AND peerhost = $2)
                 OR (scope = 'username' AND username = $1)
                 OR (scope = 'peerhost' AND peerhost = $2))`,
        values: [withoutNul(username), withoutNul(peerhost), at],
      });
      return rows.map(rowToLockout);
    },

    async upsertLockout(l) {
      await pool.query(
        `INSERT INTO login_lockouts (scope, username, peerhost, failures, lock_count, locked_at, locked_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (scope, username, peerhost) DO UPDATE SET failures = excluded.failures,
           lock_count = excluded.lock_count, locked_at = excluded.locked_at, locked_until = excluded.locked_until`,
        [
          l.scope,
          withoutNul(l.username),
          withoutNul(l.peerhost),
          l.failures,
          l.lockCount,
          l.lockedAt,
          l.lockedUntil,
        ],
      );
    },

    async listLockouts(q) {
      const p = params();
      const where: string[] = [];
      if (q.activeAt !== undefined) where.push(`locked_until > ${p.add(q.activeAt)}::timestamptz`);
      if (q.username !== undefined) where.push(`username = ${p.add(withoutNul(q.username))}`);
      if (q.peerhost !== undefined) where.push(`peerhost = ${p.add(withoutNul(q.peerhost))}`);
      const { rows } = await pool.query<LockoutRow>(
        `SELECT ${LOCKOUT_COLUMNS} FROM login_lockouts ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY locked_until DESC LIMIT 1000`,
        p.values,
      );
      return rows.map(rowToLockout);
    },

    async clearLockouts(q, audit) {
      const p = params();
      const where: string[] = [];
      if (q.username !== undefined) where.push(`username = ${p.add(withoutNul(q.username))}`);
      if (q.peerhost !== undefined) where.push(`peerhost = ${p.add(withoutNul(q.peerhost))}`);
      if (where.length === 0) return 0;
      const sql = `DELETE FROM login_lockouts WHERE ${where.join(" AND ")}`;
      return audited(
        audit,
        async (client) => (await client.query(sql, p.values)).rowCount ?? 0,
        (n) => n > 0,
      );
    },

    async listFailures(q) {
      const { rows } = await pool.query<Omit<FailureRecord, "at"> & { at: Date }>(
        q.username === undefined
          ? "SELECT at, username, peerhost, clientid, reason FROM login_failures ORDER BY id DESC LIMIT $1"
          : "SELECT at, username, peerhost, clientid, reason FROM login_failures WHERE username = $2 ORDER BY id DESC LIMIT $1",
        q.username === undefined ? [q.limit] : [q.limit, withoutNul(q.username)],
      );
      return rows.map((r) => ({ ...r, at: iso(r.at) }));
    },

    async prune(before) {
      return withTransaction(pool, async (client) => {
        const failures = await client.query("DELETE FROM login_failures WHERE at < $1::timestamptz", [
          before.failures,
        ]);
        const audit = await client.query("DELETE FROM audit_log WHERE at < $1::timestamptz", [before.audit]);
        return { failures: failures.rowCount ?? 0, audit: audit.rowCount ?? 0 };
      });
    },
  };
}
