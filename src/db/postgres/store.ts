import type pg from "pg";
import type {
  ClientPatch,
  ClientQuery,
  ClientRecord,
  LoginRecord,
  NewClient,
  Store,
  StoredPassword,
  TokenRecord,
} from "../../store/types.js";
import { PATCH_COLUMNS } from "../rows.js";
import { createPostgresAclStore } from "./acl.js";
import { createPostgresImportStore } from "./import.js";
import { warmPool } from "./open.js";
import { CLIENT_COLUMNS, type PgClientRow, params, pgRowToClient } from "./rows.js";
import { createPostgresSecurityStore } from "./security.js";
import { createPgAudited, hasNul, iso, isoOrNull, toNumber, withoutNul } from "./transaction.js";

interface TokenRow {
  name: string;
  token_sha256: string;
  scope: TokenRecord["scope"];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const TOKEN_COLUMNS = "name, token_sha256, scope, created_at, last_used_at, revoked_at";

function rowToToken(r: TokenRow): TokenRecord {
  return {
    name: r.name,
    tokenSha256: r.token_sha256,
    scope: r.scope,
    createdAt: iso(r.created_at),
    lastUsedAt: isoOrNull(r.last_used_at),
    revokedAt: isoOrNull(r.revoked_at),
  };
}

/** `$now` is replaced by the parameter holding the current time. */
const STATE_CONDITION = {
  active: "is_enabled AND (expires_at IS NULL OR expires_at > $now)",
  disabled: "NOT is_enabled",
  expired: "is_enabled AND expires_at IS NOT NULL AND expires_at <= $now",
} as const;

/** Hot-path statements are named: parsed and planned once per connection. */
const FIND_CLIENT = "mqtt_authd_find_client";
const FIND_TOKEN = "mqtt_authd_find_token";

/**
 * The Store on PostgreSQL, for several replicas sharing one database. Same semantics and records as
 * createSqliteStore; every audited write and its audit row commit in one transaction.
 */
export function createPostgresStore(
  pool: pg.Pool,
  now: () => string = () => new Date().toISOString(),
): Store {
  const audited = createPgAudited(pool, now);
  let closed = false;
  // Connections ready before the first burst of broker calls (see warmPool); not awaited.
  void warmPool(pool);

  const findClient = async (username: string): Promise<ClientRecord | null> => {
    if (hasNul(username)) return null;
    const { rows } = await pool.query<PgClientRow>({
      name: FIND_CLIENT,
      text: `SELECT ${CLIENT_COLUMNS} FROM mqtt_clients WHERE username = $1`,
      values: [username],
    });
    return rows[0] === undefined ? null : pgRowToClient(rows[0]);
  };

  return {
    ...createPostgresAclStore(pool, now, audited),
    ...createPostgresSecurityStore(pool, audited),
    ...createPostgresImportStore(pool, now),

    findClient,

    async listClients(q: ClientQuery) {
      const p = params();
      const where: string[] = [];
      if (q.after !== undefined) {
        // No username holds a NUL, so "after a\0b" is "after a" (nothing lies between them).
        const nul = q.after.indexOf("\0");
        where.push(`username > ${p.add(nul === -1 ? q.after : q.after.slice(0, nul))}`);
      }
      if (q.state !== undefined) {
        const condition: string = STATE_CONDITION[q.state];
        where.push(
          condition.includes("$now")
            ? condition.replaceAll("$now", `${p.add(now())}::timestamptz`)
            : condition,
        );
      }
      if (q.isSuperuser !== undefined) where.push(`is_superuser = ${p.add(q.isSuperuser)}`);
      if (q.usernamePrefix !== undefined) {
        if (hasNul(q.usernamePrefix)) return [];
        // left() rather than LIKE: a prefix containing % or _ must match literally. The range
        // condition lets the primary key (COLLATE "C", byte order) start the scan at the prefix.
        const prefix = `${p.add(q.usernamePrefix)}::text`;
        where.push(`username >= ${prefix} AND left(username, length(${prefix})) = ${prefix}`);
      }
      const sql = `SELECT ${CLIENT_COLUMNS} FROM mqtt_clients ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                   ORDER BY username LIMIT ${p.add(q.limit)}`;
      const { rows } = await pool.query<PgClientRow>(sql, p.values);
      return rows.map(pgRowToClient);
    },

    async insertClient(c: NewClient, audit) {
      const at = now();
      return audited(
        audit,
        async (client) =>
          (
            await client.query(
              `INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, bound_client_id,
                 is_superuser, is_enabled, expires_at, description, created_at, updated_at, password_changed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)
               ON CONFLICT (username) DO NOTHING`,
              [
                c.username,
                c.password.hash,
                c.password.format,
                c.password.origin,
                c.boundClientId,
                c.isSuperuser,
                c.isEnabled,
                c.expiresAt,
                c.description,
                at,
              ],
            )
          ).rowCount === 1,
        (inserted) => inserted,
      );
    },

    async updateClient(username, patch, audit) {
      if (hasNul(username)) return null;
      const p = params();
      const sets: string[] = [];
      for (const [key, column] of Object.entries(PATCH_COLUMNS) as [keyof ClientPatch, string][]) {
        const value = patch[key];
        if (value === undefined) continue;
        sets.push(`${column} = ${p.add(value)}`);
      }
      sets.push(`updated_at = ${p.add(now())}`);
      const sql = `UPDATE mqtt_clients SET ${sets.join(", ")} WHERE username = ${p.add(username)}
                   RETURNING ${CLIENT_COLUMNS}`;
      return audited(
        audit,
        async (client) => {
          const { rows } = await client.query<PgClientRow>(sql, p.values);
          return rows[0] === undefined ? null : pgRowToClient(rows[0]);
        },
        (row) => row !== null,
      );
    },

    async setPassword(username, password: StoredPassword, audit) {
      if (hasNul(username)) return false;
      return audited(
        audit,
        async (client) =>
          (
            await client.query(
              `UPDATE mqtt_clients SET password_hash = $2, hash_format = $3, password_origin = $4,
                 password_changed_at = $5, updated_at = $5 WHERE username = $1`,
              [username, password.hash, password.format, password.origin, now()],
            )
          ).rowCount === 1,
        (changed) => changed,
      );
    },

    async replacePasswordHash(username, expectedHash, password) {
      if (hasNul(username)) return false;
      // A rehash on login is maintenance, not a change an admin made: updated_at stays as it was.
      const { rowCount } = await pool.query(
        `UPDATE mqtt_clients SET password_hash = $2, hash_format = $3, password_origin = $4
         WHERE username = $1 AND password_hash = $5`,
        [username, password.hash, password.format, password.origin, expectedHash],
      );
      return rowCount === 1;
    },

    async deleteClient(username, audit) {
      if (hasNul(username)) return false;
      return audited(
        audit,
        async (client) =>
          (await client.query("DELETE FROM mqtt_clients WHERE username = $1", [username])).rowCount === 1,
        (deleted) => deleted,
      );
    },

    async recordLogins(logins: readonly LoginRecord[]) {
      const batch = logins.filter((l) => !hasNul(l.username));
      if (batch.length === 0) return;
      // One statement per batch. The newest login per username wins; last_login_at only moves
      // forward (another replica may have written a newer one). The rows are locked in username
      // order first, so two replicas' overlapping batches cannot deadlock.
      await pool.query(
        `WITH batch AS (
           SELECT DISTINCT ON (username) username, at, peerhost
           FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS b(username, at, peerhost)
           ORDER BY username, at DESC
         ), locked AS (
           SELECT c.username FROM mqtt_clients AS c JOIN batch AS b ON b.username = c.username
           WHERE c.last_login_at IS NULL OR c.last_login_at < b.at
           ORDER BY c.username
           FOR NO KEY UPDATE OF c
         )
         UPDATE mqtt_clients AS c SET last_login_at = b.at, last_login_peerhost = b.peerhost
         FROM batch AS b
         WHERE c.username = b.username AND c.username IN (SELECT username FROM locked)
           AND (c.last_login_at IS NULL OR c.last_login_at < b.at)`,
        [batch.map((l) => l.username), batch.map((l) => l.at), batch.map((l) => withoutNul(l.peerhost))],
      );
    },

    async insertToken(token, audit) {
      return audited(
        audit,
        async (client) =>
          (
            await client.query(
              `INSERT INTO admin_tokens (name, token_sha256, scope, created_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING`,
              [token.name, token.tokenSha256, token.scope, now()],
            )
          ).rowCount === 1,
        (inserted) => inserted,
      );
    },

    async upsertToken(token, audit) {
      return audited(
        audit,
        async (client) =>
          (
            await client.query(
              `INSERT INTO admin_tokens (name, token_sha256, scope, created_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, scope = excluded.scope,
                 created_at = excluded.created_at, last_used_at = NULL, revoked_at = NULL
               WHERE admin_tokens.token_sha256 <> excluded.token_sha256 OR admin_tokens.revoked_at IS NOT NULL
                 OR admin_tokens.scope <> excluded.scope`,
              [token.name, token.tokenSha256, token.scope, now()],
            )
          ).rowCount === 1,
        (changed) => changed,
      );
    },

    async findTokenBySha256(tokenSha256) {
      if (hasNul(tokenSha256)) return null;
      const { rows } = await pool.query<TokenRow>({
        name: FIND_TOKEN,
        text: `SELECT ${TOKEN_COLUMNS} FROM admin_tokens WHERE token_sha256 = $1`,
        values: [tokenSha256],
      });
      return rows[0] === undefined ? null : rowToToken(rows[0]);
    },

    async listTokens() {
      const { rows } = await pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM admin_tokens ORDER BY name`);
      return rows.map(rowToToken);
    },

    async revokeToken(name, audit) {
      if (hasNul(name)) return false;
      return audited(
        audit,
        async (client) =>
          (
            await client.query(
              "UPDATE admin_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
              [now(), name],
            )
          ).rowCount === 1,
        (revoked) => revoked,
      );
    },

    async touchToken(name, at) {
      if (hasNul(name)) return;
      await pool.query("UPDATE admin_tokens SET last_used_at = $1 WHERE name = $2", [at, name]);
    },

    async countUsableTokens() {
      const { rows } = await pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM admin_tokens WHERE revoked_at IS NULL AND scope = 'admin'",
      );
      return toNumber(rows[0]!.n);
    },

    async listAudit(q) {
      if (q.target !== undefined && hasNul(q.target)) return [];
      const { rows } = await pool.query<{
        id: string;
        at: Date;
        actor: string;
        action: string;
        target: string | null;
        details: Record<string, unknown>;
      }>(
        q.target === undefined
          ? "SELECT id, at, actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT $1"
          : "SELECT id, at, actor, action, target, details FROM audit_log WHERE target = $2 ORDER BY id DESC LIMIT $1",
        q.target === undefined ? [q.limit] : [q.limit, q.target],
      );
      return rows.map((r) => ({ ...r, id: toNumber(r.id), at: iso(r.at) }));
    },

    async ping() {
      await pool.query("SELECT 1");
    },

    async backup() {
      throw new Error("backup: use pg_dump for a PostgreSQL database (see README)");
    },

    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
