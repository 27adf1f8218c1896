import {
  detectFormat,
  type GoAuthSaltEncoding,
  normalizeGoAuthPbkdf2,
} from "../../passwords/formats/index.js";
import {
  type CredentialRecord,
  keepLastPerUsername,
  type LineError,
  type ParsedCredentials,
  textLines,
} from "./lines.js";

export interface GoAuthParseOptions {
  /** go-auth's `hasher_salt_encoding`: base64 unless it was set to utf-8. */
  saltEncoding?: GoAuthSaltEncoding;
}

function parseHash(hash: string, saltEncoding: GoAuthSaltEncoding): { hash: string } | { reason: string } {
  if (hash !== hash.trim()) {
    return { reason: "whitespace around the hash (go-auth does not trim it, so it never matched)" };
  }
  if (hash.startsWith("PBKDF2$") || hash.startsWith("$pbkdf2-sha512$")) {
    const normalized = normalizeGoAuthPbkdf2(hash, saltEncoding);
    return normalized.ok ? { hash: normalized.value } : { reason: normalized.reason };
  }
  const format = detectFormat(hash);
  if (format === "bcrypt" || format === "argon2id") return { hash };
  return { reason: "unsupported hash: go-auth writes PBKDF2$…, bcrypt ($2a$/$2b$/$2y$) or $argon2id$" };
}

function parseLine(
  raw: string,
  line: number,
  saltEncoding: GoAuthSaltEncoding,
): CredentialRecord | LineError {
  const parts = raw.split(":");
  if (parts.length !== 2) {
    return { line, reason: "expected exactly one ':' between username and hash (go-auth skips this line)" };
  }
  const [username, hash] = parts as [string, string];
  if (username === "") return { line, reason: "empty username" };
  const parsed = parseHash(hash, saltEncoding);
  return "reason" in parsed ? { line, reason: parsed.reason } : { line, username, hash: parsed.hash };
}

/**
 * Reads a mosquitto-go-auth files-backend password file (backends/files/files.go): one
 * `username:hash` per line, '#' comments and blank lines skipped, fields not trimmed, the
 * last line for a username wins. pbkdf2 hashes come out in our base64-salt `PBKDF2$` form.
 */
export function parseGoAuth(
  text: string,
  options: GoAuthParseOptions = {},
): ParsedCredentials<CredentialRecord> {
  const saltEncoding = options.saltEncoding ?? "base64";
  const records: CredentialRecord[] = [];
  const errors: LineError[] = [];
  for (const [i, raw] of textLines(text).entries()) {
    if (raw.replaceAll(" ", "") === "" || raw.startsWith("#")) continue;
    const result = parseLine(raw, i + 1, saltEncoding);
    if ("reason" in result) errors.push(result);
    else records.push(result);
  }
  return keepLastPerUsername({ records, errors });
}
