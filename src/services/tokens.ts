import { AppError, notFound } from "../errors.js";
import { generateToken, secretsEqual, sha256Hex } from "../passwords/secrets.js";
import type { Store, TokenRecord, TokenScope } from "../store/types.js";
import type { Actor } from "./clients.js";

export interface TokenView {
  name: string;
  scope: TokenScope;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const toTokenView = (t: TokenRecord): TokenView => ({
  name: t.name,
  scope: t.scope,
  created_at: t.createdAt,
  last_used_at: t.lastUsedAt,
  revoked_at: t.revokedAt,
});

export interface TokenService {
  /** Returns the token once; only its SHA-256 is stored. */
  create(name: string, scope: TokenScope, actor: Actor): Promise<string>;
  /** Stores a token supplied by the operator (MQTT_AUTHD_ADMIN_TOKEN), idempotently. */
  register(name: string, token: string, scope: TokenScope, actor: Actor): Promise<void>;
  list(): Promise<TokenView[]>;
  revoke(name: string, actor: Actor): Promise<void>;
  /** The usable token this bearer value names, or null. Never says why a token was refused. */
  authenticate(bearer: string): Promise<TokenRecord | null>;
  hasUsableAdminToken(): Promise<boolean>;
  /** Records that the token was just used (shown to admins as last_used_at). */
  touch(name: string): Promise<void>;
}

export function createTokenService(store: Store): TokenService {
  return {
    async create(name, scope, actor) {
      const token = generateToken();
      const inserted = await store.insertToken(
        { name, tokenSha256: sha256Hex(token), scope },
        { actor, action: "token.create", target: `token:${name}`, details: { scope } },
      );
      if (!inserted) throw new AppError("conflict", `token '${name}' already exists`);
      return token;
    },

    async register(name, token, scope, actor) {
      // The operator may change the configured token: the new value replaces the old one at once.
      await store.upsertToken(
        { name, tokenSha256: sha256Hex(token), scope },
        {
          actor,
          action: "token.create",
          target: `token:${name}`,
          details: { scope, source: "configuration" },
        },
      );
    },

    async list() {
      return (await store.listTokens()).map(toTokenView);
    },

    async revoke(name, actor) {
      const revoked = await store.revokeToken(name, {
        actor,
        action: "token.revoke",
        target: `token:${name}`,
      });
      if (!revoked) throw notFound(`active token '${name}'`);
    },

    async authenticate(bearer) {
      const digest = sha256Hex(bearer);
      const token = await store.findTokenBySha256(digest);
      // The lookup is by a digest of a 256-bit secret, so it leaks nothing useful; the comparison
      // after it is constant-time anyway, in case a store ever matches loosely.
      if (token === null || token.revokedAt !== null || !secretsEqual(digest, token.tokenSha256)) return null;
      return token;
    },

    async hasUsableAdminToken() {
      return (await store.countUsableTokens()) > 0;
    },

    touch(name) {
      return store.touchToken(name, new Date().toISOString());
    },
  };
}
