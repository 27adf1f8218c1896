import { closeSync, openSync } from "node:fs";
import type {
  ClientPatch,
  ClientQuery,
  ClientRecord,
  LoginRecord,
  NewClient,
  Store,
  StoredPassword,
  TokenRecord,
} from "../store/types.js";
import { createAudited } from "./audit.js";
import type { Db } from "./open.js";
import { PATCH_COLUMNS } from "./rows.js";
import { createSqliteAclStore } from "./sqlite-acl.js";
import { createSqliteImportStore } from "./sqlite-import.js";
import { createSqliteSecurityStore } from "./sqlite-security.js";

export interface ClientRow {
  username: string;
  password_hash: string;
  hash_format: string;
  password_origin: ClientRecord["passwordOrigin"];
  bound_client_id: string | null;
  is_superuser: number;
  is_enabled: number;
  expires_at: string | null;
  description: string;
  created_at: string;
  updated_at: string;
  password_changed_at: string;
  last_login_at: string | null;
  last_login_peerhost: string | null;
}

export function rowToClient(r: ClientRow): ClientRecord {
  return {
    username: r.username,
    passwordHash: r.password_hash,
    hashFormat: r.hash_format,
    passwordOrigin: r.password_origin,
    boundClientId: r.bound_client_id,
    isSuperuser: r.is_superuser === 1,
    isEnabled: r.is_enabled === 1,
    expiresAt: r.expires_at,
    description: r.description,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    passwordChangedAt: r.password_changed_at,
    lastLoginAt: r.last_login_at,
    lastLoginPeerhost: r.last_login_peerhost,
  };
}

interface TokenRow {
  name: string;
  token_sha256: string;
  scope: TokenRecord["scope"];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

function rowToToken(r: TokenRow): TokenRecord {
  return {
    name: r.name,
    tokenSha256: r.token_sha256,
    scope: r.scope,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

const STATE_CONDITION = {
  active: "is_enabled = 1 AND (expires_at IS NULL OR expires_at > @now)",
  disabled: "is_enabled = 0",
  expired: "is_enabled = 1 AND expires_at IS NOT NULL AND expires_at <= @now",
} as const;

const sqlBool = (b: boolean): number => (b ? 1 : 0);

export function createSqliteStore(db: Db, now: () => string = () => new Date().toISOString()): Store {
  const stmt = {
    findClient: db.prepare<[string], ClientRow>("SELECT * FROM mqtt_clients WHERE username = ?"),
    insertClient: db.prepare(
      `INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, bound_client_id,
         is_superuser, is_enabled, expires_at, description, created_at, updated_at, password_changed_at)
       VALUES (@username, @hash, @format, @origin, @boundClientId, @isSuperuser, @isEnabled, @expiresAt,
         @description, @now, @now, @now)
       ON CONFLICT (username) DO NOTHING`,
    ),
    setPassword: db.prepare(
      `UPDATE mqtt_clients SET password_hash = @hash, hash_format = @format, password_origin = @origin,
         password_changed_at = @now, updated_at = @now WHERE username = @username`,
    ),
    // A rehash on login is maintenance, not a change an admin made: updated_at stays as it was.
    casPassword: db.prepare(
      `UPDATE mqtt_clients SET password_hash = @hash, hash_format = @format, password_origin = @origin
       WHERE username = @username AND password_hash = @expected`,
    ),
    deleteClient: db.prepare("DELETE FROM mqtt_clients WHERE username = ?"),
    recordLogin: db.prepare(
      `UPDATE mqtt_clients SET last_login_at = @at, last_login_peerhost = @peerhost
       WHERE username = @username AND (last_login_at IS NULL OR last_login_at < @at)`,
    ),
    insertToken: db.prepare(
      `INSERT INTO admin_tokens (name, token_sha256, scope, created_at) VALUES (@name, @tokenSha256, @scope, @now)
       ON CONFLICT DO NOTHING`,
    ),
    upsertToken: db.prepare(
      `INSERT INTO admin_tokens (name, token_sha256, scope, created_at) VALUES (@name, @tokenSha256, @scope, @now)
       ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, scope = excluded.scope,
         created_at = excluded.created_at, last_used_at = NULL, revoked_at = NULL
       WHERE admin_tokens.token_sha256 <> excluded.token_sha256 OR admin_tokens.revoked_at IS NOT NULL
         OR admin_tokens.scope <> excluded.scope`,
    ),
    findToken: db.prepare<[string], TokenRow>("SELECT * FROM admin_tokens WHERE token_sha256 = ?"),
    listTokens: db.prepare<[], TokenRow>("SELECT * FROM admin_tokens ORDER BY name"),
    revokeToken: db.prepare("UPDATE admin_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL"),
    touchToken: db.prepare("UPDATE admin_tokens SET last_used_at = ? WHERE name = ?"),
    countUsableTokens: db.prepare<[], { n: number }>(
      "SELECT count(*) AS n FROM admin_tokens WHERE revoked_at IS NULL AND scope = 'admin'",
    ),
    ping: db.prepare("SELECT 1"),
  };

  const audited = createAudited(db, now);

  const findClient = (username: string): ClientRecord | null => {
    const row = stmt.findClient.get(username);
    return row ? rowToClient(row) : null;
  };

  const passwordParams = (username: string, p: StoredPassword) => ({
    username,
    hash: p.hash,
    format: p.format,
    origin: p.origin,
    now: now(),
  });

  return {
    ...createSqliteAclStore(db, now, audited, rowToClient),
    ...createSqliteSecurityStore(db, audited),
    ...createSqliteImportStore(db, now, audited),

    async findClient(username) {
      return findClient(username);
    },

    async listClients(q: ClientQuery) {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: q.limit, now: now() };
      if (q.after !== undefined) {
        where.push("username > @after");
        params.after = q.after;
      }
      if (q.state !== undefined) where.push(STATE_CONDITION[q.state]);
      if (q.isSuperuser !== undefined) {
        where.push("is_superuser = @isSuperuser");
        params.isSuperuser = sqlBool(q.isSuperuser);
      }
      if (q.usernamePrefix !== undefined) {
        // substr() rather than LIKE: a prefix containing % or _ must match literally.
        where.push("substr(username, 1, length(@prefix)) = @prefix");
        params.prefix = q.usernamePrefix;
      }
      const sql = `SELECT * FROM mqtt_clients ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                   ORDER BY username LIMIT @limit`;
      return (db.prepare(sql).all(params) as ClientRow[]).map(rowToClient);
    },

    async insertClient(c: NewClient, audit) {
      return audited(
        audit,
        () =>
          stmt.insertClient.run({
            ...passwordParams(c.username, c.password),
            boundClientId: c.boundClientId,
            isSuperuser: sqlBool(c.isSuperuser),
            isEnabled: sqlBool(c.isEnabled),
            expiresAt: c.expiresAt,
            description: c.description,
          }).changes === 1,
        (inserted) => inserted,
      );
    },

    async updateClient(username, patch, audit) {
      const sets: string[] = [];
      const params: Record<string, unknown> = { username, now: now() };
      for (const [key, column] of Object.entries(PATCH_COLUMNS) as [keyof ClientPatch, string][]) {
        const value = patch[key];
        if (value === undefined) continue;
        sets.push(`${column} = @${key}`);
        params[key] = typeof value === "boolean" ? sqlBool(value) : value;
      }
      const sql = `UPDATE mqtt_clients SET ${[...sets, "updated_at = @now"].join(", ")} WHERE username = @username`;
      return audited(
        audit,
        () => (db.prepare(sql).run(params).changes === 1 ? findClient(username) : null),
        (row) => row !== null,
      );
    },

    async setPassword(username, password, audit) {
      return audited(
        audit,
        () => stmt.setPassword.run(passwordParams(username, password)).changes === 1,
        (changed) => changed,
      );
    },

    async replacePasswordHash(username, expectedHash, password) {
      return (
        stmt.casPassword.run({ ...passwordParams(username, password), expected: expectedHash }).changes === 1
      );
    },

    async deleteClient(username, audit) {
      return audited(
        audit,
        () => stmt.deleteClient.run(username).changes === 1,
        (deleted) => deleted,
      );
    },

    async recordLogins(logins: readonly LoginRecord[]) {
      if (logins.length === 0) return;
      db.transaction(() => {
        for (const l of logins) stmt.recordLogin.run(l);
      })();
    },

    async insertToken(token, audit) {
      return audited(
        audit,
        () => stmt.insertToken.run({ ...token, now: now() }).changes === 1,
        (inserted) => inserted,
      );
    },

    async upsertToken(token, audit) {
      return audited(
        audit,
        () => stmt.upsertToken.run({ ...token, now: now() }).changes === 1,
        (changed) => changed,
      );
    },

    async findTokenBySha256(tokenSha256) {
      const row = stmt.findToken.get(tokenSha256);
      return row ? rowToToken(row) : null;
    },

    async listTokens() {
      return stmt.listTokens.all().map(rowToToken);
    },

    async revokeToken(name, audit) {
      return audited(
        audit,
        () => stmt.revokeToken.run(now(), name).changes === 1,
        (revoked) => revoked,
      );
    },

    async touchToken(name, at) {
      stmt.touchToken.run(at, name);
    },

    async countUsableTokens() {
      return stmt.countUsableTokens.get()!.n;
    },

    async listAudit(q) {
      const rows = (
        q.target === undefined
          ? db.prepare("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?").all(q.limit)
          : db
              .prepare("SELECT * FROM audit_log WHERE target = ? ORDER BY id DESC LIMIT ?")
              .all(q.target, q.limit)
      ) as {
        id: number;
        at: string;
        actor: string;
        action: string;
        target: string | null;
        details: string;
      }[];
      return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
    },

    async ping() {
      stmt.ping.get();
    },

    async backup(destination) {
      // The copy holds the password hashes: created readable by the service's user only (an empty
      // file is a new database to SQLite), and never over an existing file.
      closeSync(openSync(destination, "wx", 0o600));
      // SQLite's online backup API: copies pages in steps, other connections keep reading and writing.
      await db.backup(destination);
    },

    async close() {
      db.close();
    },
  };
}
