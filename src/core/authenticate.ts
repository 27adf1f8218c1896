import type { Logger } from "pino";
import type { PasswordService } from "../passwords/service.js";
import type { ClientRecord, SourcedRule, Store } from "../store/types.js";
import type { LoginRecorder } from "./login-recorder.js";

/** What every broker edge hands the core, whatever its wire format. */
export interface AuthnRequest {
  readonly username: string;
  readonly password: string;
  readonly clientid: string;
  readonly peerhost: string;
}

export type DenyReason =
  | "unknown_user"
  | "bad_password"
  | "disabled"
  | "expired"
  | "client_id_mismatch"
  | "password_too_long";

export type AuthnDecision =
  /** `rules`: the client's ACL in evaluation order, when the edge asked for it (EMQX's login `acl`). */
  | { readonly result: "allow"; readonly client: ClientRecord; readonly rules?: SourcedRule[] }
  | { readonly result: "deny"; readonly reason: DenyReason }
  /** The broker should ask its next authenticator: unknown user in a chain, or we cannot decide now. */
  | { readonly result: "ignore"; readonly reason: "unknown_user" | "unavailable" };

export interface AuthenticatorDeps {
  readonly store: Store;
  readonly passwords: PasswordService;
  readonly logins: LoginRecorder;
  readonly logger: Logger;
  readonly unknownUser: "deny" | "ignore";
  readonly passwordMaxBytes: number;
  /** Read the client's rules with its row (one query), to hand them to the broker at login. */
  readonly withRules: boolean;
  readonly now?: () => Date;
}

export type Authenticate = (req: AuthnRequest) => Promise<AuthnDecision>;

export function isExpired(client: ClientRecord, at: Date): boolean {
  return client.expiresAt !== null && Date.parse(client.expiresAt) <= at.getTime();
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticate {
  const now = deps.now ?? (() => new Date());

  const upgradeHash = async (client: ClientRecord, password: string): Promise<void> => {
    const next = await deps.passwords.hash(password, client.passwordOrigin);
    // Compare-and-set on the old hash: an admin who rotated the password meanwhile wins.
    const replaced = await deps.store.replacePasswordHash(client.username, client.passwordHash, next);
    deps.logger.info(
      { username: client.username, from: client.hashFormat, replaced },
      "password hash upgraded",
    );
  };

  return async (req) => {
    // Larger than anything we would store: refuse without hashing (a huge input is a CPU attack).
    if (Buffer.byteLength(req.password, "utf8") > deps.passwordMaxBytes) {
      return { result: "deny", reason: "password_too_long" };
    }
    const found = deps.withRules
      ? await deps.store.findClientWithRules(req.username)
      : { client: await deps.store.findClient(req.username), rules: undefined };
    const client = found?.client ?? null;
    if (client === null) {
      return deps.unknownUser === "ignore"
        ? { result: "ignore", reason: "unknown_user" }
        : { result: "deny", reason: "unknown_user" };
    }
    if (!client.isEnabled) return { result: "deny", reason: "disabled" };
    const at = now();
    if (isExpired(client, at)) return { result: "deny", reason: "expired" };
    if (client.boundClientId !== null && client.boundClientId !== req.clientid) {
      return { result: "deny", reason: "client_id_mismatch" };
    }
    if (!(await deps.passwords.verify(client.passwordHash, req.password))) {
      return { result: "deny", reason: "bad_password" };
    }
    deps.logins.record({ username: client.username, at: at.toISOString(), peerhost: req.peerhost });
    if (deps.passwords.needsUpgrade(client.passwordHash, client.passwordOrigin)) {
      upgradeHash(client, req.password).catch((err: unknown) =>
        deps.logger.warn({ err, username: client.username }, "password hash upgrade failed"),
      );
    }
    return found?.rules === undefined
      ? { result: "allow", client }
      : { result: "allow", client, rules: found.rules };
  };
}
