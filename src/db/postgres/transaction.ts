import type pg from "pg";
import type { AuditEntry } from "../../store/types.js";

export interface TransactionOptions {
  /** A consistent snapshot for several reads (REPEATABLE READ, READ ONLY). */
  readonly readOnly?: boolean;
}

/**
 * Runs `fn` in one transaction on one pooled connection: COMMIT when it resolves, ROLLBACK when it
 * throws. A connection whose ROLLBACK fails is closed instead of going back to the pool.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(options.readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch((rollbackErr: Error) => {
      broken = rollbackErr;
    });
    throw err;
  } finally {
    client.release(broken ?? false);
  }
}

export type PgAudited = <T>(
  audit: AuditEntry,
  fn: (client: pg.PoolClient) => Promise<T>,
  changed: (result: T) => boolean,
) => Promise<T>;

export async function insertAudit(client: pg.ClientBase, audit: AuditEntry, at: string): Promise<void> {
  await client.query(
    "INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5::jsonb)",
    [at, audit.actor, audit.action, audit.target, JSON.stringify(audit.details ?? {})],
  );
}

/** Runs a change and, if it reports one, its audit entry, in one transaction (see src/db/audit.ts). */
export function createPgAudited(pool: pg.Pool, now: () => string): PgAudited {
  return (audit, fn, changed) =>
    withTransaction(pool, async (client) => {
      const result = await fn(client);
      if (changed(result)) await insertAudit(client, audit, now());
      return result;
    });
}

// ---- values between PostgreSQL and the store's records ---------------------------------------

/** A timestamptz as the store's records hold times: ISO 8601 UTC with milliseconds. */
export function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : iso(value);
}

/** count(*) and bigint columns arrive as strings (they may exceed 2^53; ours do not). */
export const toNumber = (value: string | number | bigint): number => Number(value);

/**
 * PostgreSQL text cannot hold NUL, which a broker may pass on in a name: no client, role or token
 * can have one, so a lookup with one finds nothing (rather than failing the request).
 */
export const hasNul = (s: string): boolean => s.includes("\0");

/** For logs and lockout keys only: NUL stored as U+FFFD, the same way on write and on lookup. */
export const withoutNul = (s: string): string => (hasNul(s) ? s.replaceAll("\0", "\uFFFD") : s);

/** Postgres error codes we act on. */
export const PG_UNIQUE_VIOLATION = "23505";
export const PG_FOREIGN_KEY_VIOLATION = "23503";

export const pgErrorCode = (err: unknown): string | undefined =>
  typeof err === "object" && err !== null && "code" in err && typeof err.code === "string"
    ? err.code
    : undefined;
