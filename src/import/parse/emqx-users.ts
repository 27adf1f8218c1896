import {
  type EmqxAlgorithm,
  type EmqxHashInput,
  type EmqxMacFun,
  type EmqxSaltPosition,
  encodeEmqxHash,
  type Inspection,
} from "../../passwords/formats/index.js";
import { parseCsv } from "./csv.js";
import { keepLastPerUsername, type LineError, type ParsedCredentials } from "./lines.js";

/** The authenticator settings the export was made with: EMQX does not write them into the file. */
export interface EmqxImportOptions {
  format: "csv" | "json";
  algorithm: EmqxAlgorithm;
  saltPosition: EmqxSaltPosition;
  pbkdf2?: { macFun: EmqxMacFun; iterations: number; dkLength?: number };
}

export interface EmqxUserRecord {
  line: number;
  username: string;
  isSuperuser: boolean;
  /** Our stored encoding (see passwords/formats/emqx.ts). */
  hash?: string;
  /** Only for clear-text sources (a `password` column, or algorithm plain); the importer hashes it. */
  plainPassword?: string;
}

type RawUser = { line: number; fields: Readonly<Record<string, unknown>> };

function text(value: unknown, column: string): Inspection<string | undefined> {
  if (value === undefined || value === null) return { ok: true, value: undefined };
  return typeof value === "string"
    ? { ok: true, value }
    : { ok: false, reason: `${column} must be a string` };
}

// EMQX itself reads only true and "true" as true; any other value silently became false, so
// values that look like an intent ("1", "yes") are refused rather than guessed at.
function superuser(value: unknown): Inspection<boolean> {
  if (value === true || value === "true") return { ok: true, value: true };
  if (value === false || value === "false" || value === "" || value === undefined || value === null) {
    return { ok: true, value: false };
  }
  return {
    ok: false,
    reason: "is_superuser must be true or false (EMQX would have read this value as false)",
  };
}

/** EMQX's plain algorithm stores salt ‖ password, password ‖ salt or the password itself. */
function recoverPlain(stored: string, salt: string, position: EmqxSaltPosition): Inspection<string> {
  if (position === "prefix" && !stored.startsWith(salt)) {
    return { ok: false, reason: "password_hash does not start with the salt" };
  }
  if (position === "suffix" && !stored.endsWith(salt)) {
    return { ok: false, reason: "password_hash does not end with the salt" };
  }
  const password =
    position === "prefix"
      ? stored.slice(salt.length)
      : position === "suffix"
        ? stored.slice(0, stored.length - salt.length)
        : stored;
  return password === "" ? { ok: false, reason: "empty password" } : { ok: true, value: password };
}

function hashInput(options: EmqxImportOptions, hash: string, salt: string): EmqxHashInput | null {
  if (options.algorithm === "plain") return null;
  const input: EmqxHashInput = {
    algorithm: options.algorithm,
    saltPosition: options.saltPosition,
    salt,
    hash,
  };
  if (options.pbkdf2 === undefined) return input;
  const { macFun, iterations, dkLength } = options.pbkdf2;
  return dkLength === undefined
    ? { ...input, macFun, iterations }
    : { ...input, macFun, iterations, dkLength };
}

type Secret = { hash: string } | { plainPassword: string };

function secretOf(fields: RawUser["fields"], options: EmqxImportOptions): Inspection<Secret> {
  const hash = text(fields.password_hash, "password_hash");
  const salt = text(fields.salt, "salt");
  const plain = text(fields.password, "password");
  if (!hash.ok) return hash;
  if (!salt.ok) return salt;
  if (!plain.ok) return plain;
  if (hash.value === undefined) {
    if (plain.value === undefined) return { ok: false, reason: "needs a password_hash or a password" };
    return plain.value === ""
      ? { ok: false, reason: "empty password" }
      : { ok: true, value: { plainPassword: plain.value } };
  }
  const input = hashInput(options, hash.value, salt.value ?? "");
  if (input === null) {
    const recovered = recoverPlain(hash.value, salt.value ?? "", options.saltPosition);
    return recovered.ok ? { ok: true, value: { plainPassword: recovered.value } } : recovered;
  }
  const encoded = encodeEmqxHash(input);
  return encoded.ok ? { ok: true, value: { hash: encoded.value } } : encoded;
}

function toRecord(raw: RawUser, options: EmqxImportOptions): EmqxUserRecord | LineError {
  const { line, fields } = raw;
  const username = text(fields.user_id, "user_id");
  if (!username.ok) return { line, reason: username.reason };
  if (username.value === undefined || username.value === "") return { line, reason: "empty user_id" };
  const isSuperuser = superuser(fields.is_superuser);
  if (!isSuperuser.ok) return { line, reason: isSuperuser.reason };
  const secret = secretOf(fields, options);
  if (!secret.ok) return { line, reason: secret.reason };
  return { line, username: username.value, isSuperuser: isSuperuser.value, ...secret.value };
}

type RawUsers = { ok: true; users: RawUser[]; errors: LineError[] } | { ok: false; error: LineError };

function csvUsers(input: string): RawUsers {
  const csv = parseCsv(input);
  if (!csv.ok) return csv;
  const [header, ...rows] = csv.rows;
  const fileError = (reason: string): RawUsers => ({ ok: false, error: { line: header?.line ?? 1, reason } });
  if (header === undefined) return fileError("the file is empty: it has no header row");
  const columns = header.fields;
  if (new Set(columns).size !== columns.length) return fileError("the header names a column twice");
  if (!columns.includes("user_id") || !(columns.includes("password_hash") || columns.includes("password"))) {
    return fileError("the header must name user_id and password_hash (or password for clear text)");
  }
  const users: RawUser[] = [];
  const errors: LineError[] = [];
  for (const { line, fields } of rows) {
    if (fields.length === columns.length)
      users.push({ line, fields: Object.fromEntries(columns.map((c, i) => [c, fields[i]])) });
    else errors.push({ line, reason: `${fields.length} fields where the header has ${columns.length}` });
  }
  return { ok: true, users, errors };
}

function jsonUsers(input: string): RawUsers {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    return { ok: false, error: { line: 0, reason: "not valid JSON" } };
  }
  if (!Array.isArray(parsed)) {
    return { ok: false, error: { line: 0, reason: "expected a JSON array of users" } };
  }
  const users: RawUser[] = [];
  const errors: LineError[] = [];
  for (const [i, item] of parsed.entries()) {
    if (typeof item === "object" && item !== null && !Array.isArray(item))
      users.push({ line: i + 1, fields: item });
    else errors.push({ line: i + 1, reason: "expected an object" });
  }
  return { ok: true, users, errors };
}

/**
 * Reads an EMQX built-in database user export (emqx-http-auth.md §4): CSV with header
 * `user_id,password_hash,salt,is_superuser` (or `user_id,password,is_superuser` for clear
 * text), or a JSON array of the same objects, where "line" is the array index + 1.
 * File-level problems are reported on the CSV header's line, or on line 0 for JSON.
 */
export function parseEmqxUsers(input: string, options: EmqxImportOptions): ParsedCredentials<EmqxUserRecord> {
  if (options.algorithm === "pbkdf2" && options.pbkdf2 === undefined) {
    return {
      records: [],
      errors: [{ line: 0, reason: "algorithm pbkdf2 needs the authenticator's mac_fun and iterations" }],
    };
  }
  const raw = options.format === "csv" ? csvUsers(input) : jsonUsers(input);
  if (!raw.ok) return { records: [], errors: [raw.error] };
  const records: EmqxUserRecord[] = [];
  const errors = [...raw.errors];
  for (const user of raw.users) {
    const result = toRecord(user, options);
    if ("reason" in result) errors.push(result);
    else records.push(result);
  }
  return keepLastPerUsername({ records, errors });
}
