import type { Config } from "../config.js";
import {
  type ClearTextClient,
  draftFromEmqx,
  draftFromPasswordFile,
  type ImportDraft,
} from "../import/draft.js";
import { draftFromMosquittoAcl } from "../import/draft-mosquitto-acl.js";
import {
  type EmqxImportOptions,
  type LineError,
  parseEmqxUsers,
  parseGoAuth,
  parseMosquittoPasswd,
} from "../import/parse/index.js";
import type { GoAuthSaltEncoding } from "../passwords/formats/index.js";
import type { PasswordService } from "../passwords/service.js";
import type { ImportedClient, ImportOutcome, Store, StoredPassword } from "../store/types.js";
import type { Actor } from "./clients.js";

export type ImportFormat = "mosquitto-passwd" | "mosquitto-acl" | "emqx-users" | "go-auth";

export interface ImportOptions {
  readonly conflict: "skip" | "overwrite";
  /** Report what would happen and write nothing. */
  readonly dryRun: boolean;
  /** A file with a bad line writes nothing (the default); false applies the good lines. */
  readonly allOrNothing: boolean;
  /** For the audit log. */
  readonly fileName?: string;
}

export type ImportRequest =
  | { format: "mosquitto-passwd" | "mosquitto-acl"; text: string; options: ImportOptions }
  | { format: "emqx-users"; text: string; options: ImportOptions; emqx: EmqxImportOptions }
  | { format: "go-auth"; text: string; options: ImportOptions; saltEncoding: GoAuthSaltEncoding };

export interface ImportReport {
  format: ImportFormat;
  dry_run: boolean;
  /** Whether the import was written: false for a dry run, and when all-or-nothing refused the file. */
  applied: boolean;
  /** created + updated + unchanged + skipped + failed.length. */
  total: number;
  /** Clients (password files) or rule lists and roles (ACL files) created, or that would be. */
  created: number;
  updated: number;
  /** Already exactly as in the file. */
  unchanged: number;
  /** Already there, different, and kept because the conflict policy is skip. */
  skipped: number;
  /** Each bad line (1-based; 0 for the file as a whole), with a reason that never quotes a secret. */
  failed: LineError[];
  /** What the import could not carry over exactly. */
  notes: string[];
}

export interface ImportService {
  importFile(request: ImportRequest, actor: Actor): Promise<ImportReport>;
}

// Stands in for an argon2id hash in a plan that is rolled back: a dry run does not pay for
// hashing clear-text passwords it will never store.
const NOT_STORED: StoredPassword = { hash: "(dry run)", format: "argon2id", origin: "imported" };

const counts = (o: ImportOutcome) => ({
  created: o.created.length,
  updated: o.updated.length,
  unchanged: o.unchanged.length,
  skipped: o.skipped.length,
});

export function createImportService(deps: {
  store: Store;
  passwords: PasswordService;
  config: Pick<Config, "passwordMaxBytes" | "aclNoMatch">;
}): ImportService {
  const { store, passwords, config } = deps;

  const draft = (request: ImportRequest): ImportDraft => {
    switch (request.format) {
      case "mosquitto-passwd":
        return draftFromPasswordFile(parseMosquittoPasswd(request.text));
      case "go-auth":
        return draftFromPasswordFile(parseGoAuth(request.text, { saltEncoding: request.saltEncoding }));
      case "emqx-users":
        return draftFromEmqx(parseEmqxUsers(request.text, request.emqx), config.passwordMaxBytes);
      case "mosquitto-acl":
        return draftFromMosquittoAcl(request.text, config.aclNoMatch);
    }
  };

  /**
   * Clear text gets the full argon2id profile with origin `imported`. Under overwrite, a client whose
   * current hash already verifies keeps it, so the same import run again changes nothing.
   */
  const storeClearText = async (
    c: ClearTextClient,
    options: ImportOptions,
    dryRun: boolean,
  ): Promise<ImportedClient> => {
    const client = { username: c.username, isSuperuser: c.isSuperuser };
    if (options.conflict === "overwrite") {
      const existing = await store.findClient(c.username);
      if (existing !== null && (await passwords.verify(existing.passwordHash, c.password))) {
        const kept = {
          hash: existing.passwordHash,
          format: existing.hashFormat,
          origin: existing.passwordOrigin,
        };
        return { ...client, password: kept };
      }
    }
    return { ...client, password: dryRun ? NOT_STORED : await passwords.hash(c.password, "imported") };
  };

  return {
    async importFile(request, actor) {
      const { options } = request;
      const drafted = draft(request);
      const dryRun = options.dryRun || (options.allOrNothing && drafted.failed.length > 0);
      const clients = [...drafted.clients];
      // One at a time: hashing shares the libuv threadpool with the logins being verified.
      for (const c of drafted.clearText) {
        clients.push(await storeClearText(c, options, dryRun));
      }
      const outcome = await store.applyImport(
        {
          clients,
          ...(drafted.clientRules !== undefined && { clientRules: drafted.clientRules }),
          ...(drafted.roles !== undefined && { roles: drafted.roles }),
          conflict: options.conflict,
          missingClient: options.allOrNothing ? "fail" : "skip",
          dryRun,
        },
        (o) => ({
          actor,
          action: `import.${request.format}`,
          target: null,
          details: {
            file: options.fileName ?? null,
            conflict: options.conflict,
            all_or_nothing: options.allOrNothing,
            ...counts(o),
            failed: drafted.failed.length + o.missingClients.length,
          },
        }),
      );
      const missing = outcome.missingClients.map((username) => ({
        line: drafted.lineOfUser?.get(username) ?? 0,
        reason: `no such client "${username}"; import the password file first`,
      }));
      const failed = [...drafted.failed, ...missing].sort((a, b) => a.line - b.line);
      const done = counts(outcome);
      return {
        format: request.format,
        dry_run: options.dryRun,
        applied: outcome.written,
        total: done.created + done.updated + done.unchanged + done.skipped + failed.length,
        ...done,
        failed,
        notes: drafted.notes,
      };
    },
  };
}
