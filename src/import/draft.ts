import { describeFormat, detectFormat } from "../passwords/formats/index.js";
import { usernameSchema } from "../schemas/clients.js";
import type { ImportedClient, RoleInput, Rule } from "../store/types.js";
import type { CredentialRecord, EmqxUserRecord, LineError, ParsedCredentials } from "./parse/index.js";

/** A clear-text password from the file (EMQX `plain`): hashed only if the import is written. */
export interface ClearTextClient {
  readonly line: number;
  readonly username: string;
  readonly isSuperuser: boolean;
  readonly password: string;
}

/** What a file asks for, before it meets the database. */
export interface ImportDraft {
  clients: ImportedClient[];
  clearText: ClearTextClient[];
  /** Each client's own rules, replacing what it has. */
  clientRules?: Map<string, Rule[]>;
  roles?: RoleInput[];
  failed: LineError[];
  notes: string[];
  /** The line that names each user, for reporting rule lists whose client does not exist. */
  lineOfUser?: Map<string, number>;
}

function usernameProblem(username: string): string | null {
  const parsed = usernameSchema.safeParse(username);
  return parsed.success ? null : `invalid username: ${parsed.error.issues[0]?.message ?? "rejected"}`;
}

function fastDigestNotes(clients: readonly ImportedClient[]): string[] {
  const fast = clients.filter((c) => describeFormat(c.password.hash)?.fastDigest === true).length;
  if (fast === 0) return [];
  return [
    `${fast} client(s) carry a single-round digest (mosquitto $6$ or EMQX md5/sha*), which a stolen ` +
      "database gives up quickly: each is rehashed with argon2id at its next login (the " +
      "hash_formats_in_use view shows how many are left).",
  ];
}

type HashedRecord = CredentialRecord & { isSuperuser?: boolean };

/** Hash strings, stored as they are until each client's next login upgrades them to argon2id. */
function draftHashed(records: readonly HashedRecord[], failed: LineError[]): ImportedClient[] {
  const clients: ImportedClient[] = [];
  for (const r of records) {
    const format = detectFormat(r.hash);
    const problem = usernameProblem(r.username);
    if (problem !== null) failed.push({ line: r.line, reason: problem });
    else if (format === null) failed.push({ line: r.line, reason: "unrecognized hash" });
    else
      clients.push({
        username: r.username,
        password: { hash: r.hash, format, origin: "imported" },
        ...(r.isSuperuser !== undefined && { isSuperuser: r.isSuperuser }),
      });
  }
  return clients;
}

/** A mosquitto or go-auth password file. */
export function draftFromPasswordFile(parsed: ParsedCredentials<CredentialRecord>): ImportDraft {
  const failed = [...parsed.errors];
  const clients = draftHashed(parsed.records, failed);
  return { clients, clearText: [], failed: sortByLine(failed), notes: fastDigestNotes(clients) };
}

/** An EMQX built-in database export: hashes, or clear text with algorithm plain. */
export function draftFromEmqx(
  parsed: ParsedCredentials<EmqxUserRecord>,
  maxPasswordBytes: number,
): ImportDraft {
  const failed = [...parsed.errors];
  const hashed: HashedRecord[] = [];
  const clearText: ClearTextClient[] = [];
  for (const { line, username, isSuperuser, hash, plainPassword } of parsed.records) {
    if (hash !== undefined) {
      hashed.push({ line, username, hash, isSuperuser });
      continue;
    }
    if (plainPassword === undefined) {
      failed.push({ line, reason: "needs a password_hash or a password" });
      continue;
    }
    const problem =
      usernameProblem(username) ??
      (Buffer.byteLength(plainPassword, "utf8") > maxPasswordBytes
        ? `the password is longer than MQTT_AUTHD_PASSWORD_MAX_BYTES (${maxPasswordBytes}), so logins with it would be refused`
        : null);
    if (problem !== null) failed.push({ line, reason: problem });
    else clearText.push({ line, username, isSuperuser, password: plainPassword });
  }
  const clients = draftHashed(hashed, failed);
  const notes = fastDigestNotes(clients);
  if (clearText.length > 0) {
    notes.push(
      "The file holds clear-text passwords: they are stored only as argon2id hashes; delete the file.",
    );
  }
  return { clients, clearText, failed: sortByLine(failed), notes };
}

export const sortByLine = (errors: LineError[]): LineError[] => errors.sort((a, b) => a.line - b.line);
