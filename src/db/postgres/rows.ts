import type { ClientRecord } from "../../store/types.js";
import { iso, isoOrNull } from "./transaction.js";

/** mqtt_clients as pg returns it: timestamptz as Date, flags as boolean. */
export interface PgClientRow {
  username: string;
  password_hash: string;
  hash_format: string;
  password_origin: ClientRecord["passwordOrigin"];
  bound_client_id: string | null;
  is_superuser: boolean;
  is_enabled: boolean;
  expires_at: Date | null;
  description: string;
  created_at: Date;
  updated_at: Date;
  password_changed_at: Date;
  last_login_at: Date | null;
  last_login_peerhost: string | null;
}

/** Named, not `*`: a prepared statement's result shape must not move under a later migration. */
export const CLIENT_COLUMNS = `username, password_hash, hash_format, password_origin, bound_client_id,
  is_superuser, is_enabled, expires_at, description, created_at, updated_at, password_changed_at,
  last_login_at, last_login_peerhost`;

export function pgRowToClient(r: PgClientRow): ClientRecord {
  return {
    username: r.username,
    passwordHash: r.password_hash,
    hashFormat: r.hash_format,
    passwordOrigin: r.password_origin,
    boundClientId: r.bound_client_id,
    isSuperuser: r.is_superuser,
    isEnabled: r.is_enabled,
    expiresAt: isoOrNull(r.expires_at),
    description: r.description,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    passwordChangedAt: iso(r.password_changed_at),
    lastLoginAt: isoOrNull(r.last_login_at),
    lastLoginPeerhost: r.last_login_peerhost,
  };
}

/** Positional parameters for a query built piece by piece. */
export function params() {
  const values: unknown[] = [];
  return {
    values,
    add(value: unknown): string {
      values.push(value);
      return `$${values.length}`;
    },
  };
}
