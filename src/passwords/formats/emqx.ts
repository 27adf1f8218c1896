import { createHash } from "node:crypto";
import { isBcryptHash } from "./bcrypt.js";
import {
  decodeBase64Url,
  decodeHex,
  derivePbkdf2,
  equalBytes,
  MAX_PBKDF2_ITERATIONS,
  type Pbkdf2Digest,
  parsePositiveInt,
  passwordBytes,
} from "./bytes.js";
import { type Inspection, invalid, valid } from "./inspection.js";

/**
 * EMQX's built-in database keeps hash, salt and algorithm apart (the algorithm lives in the
 * authenticator config, emqx-http-auth.md §4), so an exported hash does not say how to check
 * it. We store it wrapped in a string of our own that does:
 *
 *   $emqx-<digest>$<prefix|suffix|disable>$<salt>$<hex>
 *   $emqx-pbkdf2$<digest>$<iterations>$<dkLength>$<salt>$<hex>
 *
 * digest is md5, sha1, sha224, sha256, sha384 or sha512 (EMQX calls SHA-1 "sha"); salt is the
 * salt's UTF-8 bytes in unpadded base64url, so an imported salt may hold any character,
 * '$' included (empty with `disable`); hex is the lowercased EMQX hash.
 * The simple digests compute H(salt ‖ password), H(password ‖ salt) or H(password).
 */
export type EmqxAlgorithm = "plain" | "md5" | "sha" | "sha256" | "sha512" | "pbkdf2" | "bcrypt";
export type EmqxSaltPosition = "prefix" | "suffix" | "disable";
export type EmqxMacFun = "sha" | "sha224" | "sha256" | "sha384" | "sha512";

/** EMQX's `plain` keeps clear text, which we never store: the importer hashes those passwords itself. */
export function isStorableEmqxAlgorithm(algorithm: EmqxAlgorithm): boolean {
  return algorithm !== "plain";
}

export interface EmqxHashInput {
  algorithm: Exclude<EmqxAlgorithm, "plain">;
  /** Required for md5, sha, sha256 and sha512; EMQX ignores it for pbkdf2 and bcrypt. */
  saltPosition?: EmqxSaltPosition;
  /** The salt column as EMQX holds it: text whose UTF-8 bytes are the salt. */
  salt?: string;
  /** The password_hash column: hex, or the bcrypt string itself for bcrypt. */
  hash: string;
  /** pbkdf2 only, as in the authenticator config (mac_fun, iterations, dk_length). */
  macFun?: EmqxMacFun;
  iterations?: number;
  dkLength?: number;
}

type SimpleDigest = "md5" | "sha1" | "sha256" | "sha512";

export type EmqxHash =
  | { kind: "simple"; digest: SimpleDigest; saltPosition: EmqxSaltPosition; salt: Buffer; hash: Buffer }
  | { kind: "pbkdf2"; digest: Pbkdf2Digest; iterations: number; salt: Buffer; hash: Buffer };

const DIGEST_LENGTHS: Record<SimpleDigest | Pbkdf2Digest, number> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};
const SIMPLE_DIGESTS: Record<string, SimpleDigest> = {
  md5: "md5",
  sha: "sha1",
  sha256: "sha256",
  sha512: "sha512",
};
const MAC_DIGESTS: Record<EmqxMacFun, Pbkdf2Digest> = {
  sha: "sha1",
  sha224: "sha224",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
};
const POSITIONS: readonly string[] = ["prefix", "suffix", "disable"];
const MAX_DK_LENGTH = 1024;
const MAX_SALT_BYTES = 1024;

// Inputs may come from untyped JSON: never let "constructor" or "toString" look like a known key.
function lookup<V>(table: Readonly<Record<string, V>>, key: string | undefined): V | undefined {
  return key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

function decodeDigestHex(hex: string, length: number): Inspection<Buffer> {
  const bytes = decodeHex(hex);
  if (bytes === null) return invalid("password_hash is not hexadecimal");
  return bytes.length === length
    ? valid(bytes)
    : invalid(`password_hash must be ${2 * length} hex characters`);
}

function decodeSalt(field: string): Inspection<Buffer> {
  const salt = decodeBase64Url(field);
  if (salt === null) return invalid("salt is not base64url");
  return salt.length > MAX_SALT_BYTES ? invalid(`salt longer than ${MAX_SALT_BYTES} bytes`) : valid(salt);
}

function encodePbkdf2(input: EmqxHashInput, salt: Buffer): Inspection<string> {
  const digest = lookup(MAC_DIGESTS, input.macFun);
  if (digest === undefined) return invalid("pbkdf2 needs mac_fun: sha, sha224, sha256, sha384 or sha512");
  const iterations = input.iterations ?? 0;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    return invalid(`pbkdf2 needs iterations from 1 to ${MAX_PBKDF2_ITERATIONS}`);
  }
  const dkLength = input.dkLength ?? DIGEST_LENGTHS[digest];
  if (!Number.isInteger(dkLength) || dkLength < 1 || dkLength > MAX_DK_LENGTH) {
    return invalid(`pbkdf2 dk_length must be from 1 to ${MAX_DK_LENGTH}`);
  }
  const hash = decodeDigestHex(input.hash, dkLength);
  if (!hash.ok) return hash;
  const parts = [digest, iterations, dkLength, salt.toString("base64url"), hash.value.toString("hex")];
  return valid(`$emqx-pbkdf2$${parts.join("$")}`);
}

/** Wraps one exported EMQX user's hash into our stored form (bcrypt strings stay as they are). */
export function encodeEmqxHash(input: EmqxHashInput): Inspection<string> {
  if (input.algorithm === "bcrypt") {
    return isBcryptHash(input.hash) ? valid(input.hash) : invalid("password_hash is not a bcrypt hash");
  }
  const salt = Buffer.from(input.salt ?? "", "utf8");
  if (salt.length > MAX_SALT_BYTES) return invalid(`salt longer than ${MAX_SALT_BYTES} bytes`);
  if (input.algorithm === "pbkdf2") return encodePbkdf2(input, salt);
  const digest = lookup(SIMPLE_DIGESTS, input.algorithm);
  if (digest === undefined) return invalid("unknown EMQX algorithm");
  const position = input.saltPosition;
  if (position === undefined || !POSITIONS.includes(position)) {
    return invalid(`${input.algorithm} needs salt_position prefix, suffix or disable`);
  }
  const hash = decodeDigestHex(input.hash, DIGEST_LENGTHS[digest]);
  if (!hash.ok) return hash;
  const saltField = position === "disable" ? "" : salt.toString("base64url");
  return valid(`$emqx-${digest}$${position}$${saltField}$${hash.value.toString("hex")}`);
}

type Seven = [string, string, string, string, string, string, string];

function inspectPbkdf2(fields: string[]): Inspection<EmqxHash> {
  if (fields.length !== 7) return invalid("malformed EMQX pbkdf2 hash");
  const [, , digestText, iterationsText, dkText, saltText, hashText] = fields as Seven;
  const digest = Object.values(MAC_DIGESTS).find((d) => d === digestText);
  if (digest === undefined) return invalid("unknown pbkdf2 digest");
  const iterations = parsePositiveInt(iterationsText, MAX_PBKDF2_ITERATIONS);
  if (iterations === null) return invalid(`iterations must be an integer from 1 to ${MAX_PBKDF2_ITERATIONS}`);
  const dkLength = parsePositiveInt(dkText, MAX_DK_LENGTH);
  if (dkLength === null) return invalid(`dk_length must be an integer from 1 to ${MAX_DK_LENGTH}`);
  const salt = decodeSalt(saltText);
  if (!salt.ok) return salt;
  const hash = decodeDigestHex(hashText, dkLength);
  return hash.ok ? valid({ kind: "pbkdf2", digest, iterations, salt: salt.value, hash: hash.value }) : hash;
}

export function inspectEmqxHash(stored: string): Inspection<EmqxHash> {
  const fields = stored.split("$");
  const tag = fields[1] ?? "";
  if (fields[0] !== "" || !tag.startsWith("emqx-")) return invalid("not an EMQX hash: expected $emqx-");
  if (tag === "emqx-pbkdf2") return inspectPbkdf2(fields);
  const digest = Object.values(SIMPLE_DIGESTS).find((d) => `emqx-${d}` === tag);
  if (digest === undefined) return invalid("unknown EMQX digest");
  if (fields.length !== 5) return invalid(`malformed EMQX ${digest} hash`);
  const [, , position, saltText, hashText] = fields as [string, string, string, string, string];
  if (!POSITIONS.includes(position)) return invalid("salt position must be prefix, suffix or disable");
  const salt = decodeSalt(saltText);
  if (!salt.ok) return salt;
  if (position === "disable" && salt.value.length > 0) {
    return invalid("a salt with position disable must be empty");
  }
  const hash = decodeDigestHex(hashText, DIGEST_LENGTHS[digest]);
  if (!hash.ok) return hash;
  return valid({
    kind: "simple",
    digest,
    saltPosition: position as EmqxSaltPosition,
    salt: salt.value,
    hash: hash.value,
  });
}

export async function verifyEmqx(parsed: EmqxHash, password: string | Buffer): Promise<boolean> {
  // EMQX hashes the CONNECT password binary as is: no NUL truncation, unlike mosquitto.
  const input = passwordBytes(password);
  if (parsed.kind === "pbkdf2") {
    const computed = await derivePbkdf2(
      input,
      parsed.salt,
      parsed.iterations,
      parsed.hash.length,
      parsed.digest,
    );
    return equalBytes(computed, parsed.hash);
  }
  const parts =
    parsed.saltPosition === "prefix"
      ? [parsed.salt, input]
      : parsed.saltPosition === "suffix"
        ? [input, parsed.salt]
        : [input];
  const hasher = createHash(parsed.digest);
  for (const part of parts) hasher.update(part);
  return equalBytes(hasher.digest(), parsed.hash);
}
