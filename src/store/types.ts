import type { Rule } from "../acl/types.js";

/**
 * The storage interface: every read and write the service makes. Async on purpose, so the
 * synchronous SQLite driver never leaks into the core and a networked store can sit behind it.
 * Each mutating provisioning method takes the audit entry and writes it in the same transaction.
 */

export type PasswordOrigin = "generated" | "chosen" | "imported";

export interface StoredPassword {
  readonly hash: string;
  readonly format: string;
  readonly origin: PasswordOrigin;
}

export interface ClientRecord {
  readonly username: string;
  readonly passwordHash: string;
  readonly hashFormat: string;
  readonly passwordOrigin: PasswordOrigin;
  readonly boundClientId: string | null;
  readonly isSuperuser: boolean;
  readonly isEnabled: boolean;
  /** ISO 8601 UTC. */
  readonly expiresAt: string | null;
  readonly description: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly passwordChangedAt: string;
  readonly lastLoginAt: string | null;
  readonly lastLoginPeerhost: string | null;
}

export interface NewClient {
  readonly username: string;
  readonly password: StoredPassword;
  readonly boundClientId: string | null;
  readonly isSuperuser: boolean;
  readonly isEnabled: boolean;
  readonly expiresAt: string | null;
  readonly description: string;
}

export interface ClientPatch {
  readonly boundClientId?: string | null;
  readonly isSuperuser?: boolean;
  readonly isEnabled?: boolean;
  readonly expiresAt?: string | null;
  readonly description?: string;
}

export type ClientState = "active" | "disabled" | "expired";

export interface ClientQuery {
  readonly limit: number;
  /** Keyset pagination: usernames strictly after this one. */
  readonly after?: string;
  readonly state?: ClientState;
  readonly isSuperuser?: boolean;
  readonly usernamePrefix?: string;
}

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends Required<AuditEntry> {
  readonly id: number;
  readonly at: string;
}

export type TokenScope = "read" | "admin";

export interface TokenRecord {
  readonly name: string;
  readonly tokenSha256: string;
  readonly scope: TokenScope;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

export interface LoginRecord {
  readonly username: string;
  readonly at: string;
  readonly peerhost: string;
}

export interface Store extends AclStore, SecurityStore, ImportStore {
  findClient(username: string): Promise<ClientRecord | null>;
  listClients(query: ClientQuery): Promise<ClientRecord[]>;
  /** false when the username is taken. */
  insertClient(client: NewClient, audit: AuditEntry): Promise<boolean>;
  /** The updated row, or null when there is no such client. */
  updateClient(username: string, patch: ClientPatch, audit: AuditEntry): Promise<ClientRecord | null>;
  setPassword(username: string, password: StoredPassword, audit: AuditEntry): Promise<boolean>;
  /** Compare-and-set: replaces the hash only if it is still `expectedHash` (an admin may have rotated it). */
  replacePasswordHash(username: string, expectedHash: string, password: StoredPassword): Promise<boolean>;
  deleteClient(username: string, audit: AuditEntry): Promise<boolean>;
  recordLogins(logins: readonly LoginRecord[]): Promise<void>;

  insertToken(
    token: Omit<TokenRecord, "createdAt" | "lastUsedAt" | "revokedAt">,
    audit: AuditEntry,
  ): Promise<boolean>;
  /** Creates the token, or replaces (and un-revokes) the one of that name if its value changed. */
  upsertToken(
    token: Omit<TokenRecord, "createdAt" | "lastUsedAt" | "revokedAt">,
    audit: AuditEntry,
  ): Promise<boolean>;
  findTokenBySha256(tokenSha256: string): Promise<TokenRecord | null>;
  listTokens(): Promise<TokenRecord[]>;
  revokeToken(name: string, audit: AuditEntry): Promise<boolean>;
  touchToken(name: string, at: string): Promise<void>;
  countUsableTokens(): Promise<number>;

  listAudit(query: { limit: number; target?: string }): Promise<AuditRecord[]>;

  /** Cheap liveness probe of the underlying database. */
  ping(): Promise<void>;
  /** A consistent copy of the whole database at `destination`, taken while the service keeps serving. */
  backup(destination: string): Promise<void>;
  close(): Promise<void>;
}

// ---- topic authorization -------------------------------------------------------------------

export type { Rule } from "../acl/types.js";

/** A rule as evaluated for one client: where it came from (`client`, `role:<name>`, `default-role:<name>`). */
export interface SourcedRule extends Rule {
  readonly source: string;
}

export interface RoleRecord {
  readonly name: string;
  readonly description: string;
  readonly isDefault: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly rules: Rule[];
  /** How many clients have the role assigned (default roles apply to all regardless). */
  readonly assignedClients: number;
}

export interface RoleInput {
  readonly name: string;
  readonly description: string;
  readonly isDefault: boolean;
  readonly rules: readonly Rule[];
}

export interface ClientAcl {
  readonly roles: string[];
  readonly rules: Rule[];
}

export interface AclStore {
  /** The client and its rules in evaluation order, in one read: the /mqtt/acl hot path. */
  findClientWithRules(username: string): Promise<{ client: ClientRecord; rules: SourcedRule[] } | null>;
  listRoles(): Promise<RoleRecord[]>;
  findRole(name: string): Promise<RoleRecord | null>;
  /** false when the name is taken. */
  insertRole(role: RoleInput, audit: AuditEntry): Promise<boolean>;
  /** Replaces description, default flag and the whole rule list; false when there is no such role. */
  replaceRole(role: RoleInput, audit: AuditEntry): Promise<boolean>;
  deleteRole(name: string, audit: AuditEntry): Promise<"deleted" | "not_found" | "in_use">;
  findClientAcl(username: string): Promise<ClientAcl | null>;
  /** Replaces what is given; `unknown_role` names the first role that does not exist. */
  replaceClientAcl(
    username: string,
    acl: Partial<ClientAcl>,
    audit: AuditEntry,
  ): Promise<
    { ok: true } | { ok: false; reason: "not_found" } | { ok: false; reason: "unknown_role"; role: string }
  >;
}

// ---- failed logins and lockouts --------------------------------------------------------------

export interface FailureRecord {
  readonly at: string;
  readonly username: string;
  readonly peerhost: string;
  readonly clientid: string;
  readonly reason: string;
}

export type LockoutScope = "username+peerhost" | "username" | "peerhost";

export interface LockoutRecord {
  readonly scope: LockoutScope;
  /** "" for scope peerhost. */
  readonly username: string;
  /** "" for scope username. */
  readonly peerhost: string;
  readonly failures: number;
  readonly lockCount: number;
  readonly lockedAt: string;
  readonly lockedUntil: string;
}

export interface SecurityStore {
  recordFailures(failures: readonly FailureRecord[]): Promise<void>;
  /** Lockouts in force at `at` that cover this username and/or source. */
  findActiveLockouts(username: string, peerhost: string, at: string): Promise<LockoutRecord[]>;
  upsertLockout(lockout: LockoutRecord): Promise<void>;
  listLockouts(query: { activeAt?: string; username?: string; peerhost?: string }): Promise<LockoutRecord[]>;
  /** Removes the lockouts naming this username and/or source; returns how many. */
  clearLockouts(query: { username?: string; peerhost?: string }, audit: AuditEntry): Promise<number>;
  listFailures(query: { limit: number; username?: string }): Promise<FailureRecord[]>;
  /** Retention: deletes failures and audit rows older than the given times. */
  prune(before: { failures: string; audit: string }): Promise<{ failures: number; audit: number }>;
}

// ---- imports from other brokers --------------------------------------------------------------

export interface ImportedClient {
  readonly username: string;
  readonly password: StoredPassword;
  /** Absent: the file does not say (created as false, left as it is on overwrite). */
  readonly isSuperuser?: boolean;
}

export interface ImportPlan {
  readonly clients: readonly ImportedClient[];
  /** Each client's own rules, replaced whole; the client must already exist (or be in `clients`). */
  readonly clientRules?: ReadonlyMap<string, readonly Rule[]>;
  readonly roles?: readonly RoleInput[];
  /** What happens to a client, client rule list or role that already exists and differs from the file. */
  readonly conflict: "skip" | "overwrite";
  /** `fail`: a rule list for a client that does not exist rolls the whole import back. */
  readonly missingClient: "fail" | "skip";
  /** Computes the same outcome, then rolls back. */
  readonly dryRun: boolean;
}

/** Names per outcome: usernames for clients and client rules, `role:<name>` for roles. */
export interface ImportOutcome {
  readonly created: string[];
  readonly updated: string[];
  /** Already exactly as in the file. */
  readonly unchanged: string[];
  /** Already there and different, kept because the conflict policy is `skip`. */
  readonly skipped: string[];
  /** Clients named by `clientRules` that do not exist. */
  readonly missingClients: string[];
  /** False for a dry run, or when a missing client rolled the import back. */
  readonly written: boolean;
}

export interface ImportStore {
  /**
   * Applies a whole import in one transaction, with one audit row (built from the outcome) when
   * it changed anything. Never deletes what the file does not name.
   */
  applyImport(plan: ImportPlan, audit: (outcome: ImportOutcome) => AuditEntry): Promise<ImportOutcome>;
}
