import { createHash } from "node:crypto";
import {
  decodeBase64Padded,
  derivePbkdf2,
  equalBytes,
  MAX_PBKDF2_ITERATIONS,
  parsePositiveInt,
  passwordBytes,
  truncateAtNul,
} from "./bytes.js";
import { type Inspection, invalid, valid } from "./inspection.js";

/**
 * Mosquitto's password file hashes (src/password_mosq.c, peer-brokers.md §2):
 * - `$7$<iterations>$<salt>$<hash>`: PBKDF2-HMAC-SHA512, 64-byte key (the 2.0 default).
 * - `$6$<salt>$<hash>`: one SHA-512 over password ‖ salt (the 1.6 default; not sha512-crypt).
 * Salt and hash are standard padded base64.
 */
export interface MosquittoHash {
  scheme: "pbkdf2-sha512" | "sha512";
  /** 1 for the single-round `$6$` scheme. */
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

// 2.0 writes and reads 12-byte salts; the next release writes 64 and reads both.
const SALT_LENGTHS: readonly number[] = [12, 64];
const HASH_LENGTH = 64;

export function inspectMosquittoHash(stored: string): Inspection<MosquittoHash> {
  const fields = stored.split("$");
  if (fields[0] !== "" || (fields[1] !== "6" && fields[1] !== "7")) {
    return invalid("not a mosquitto hash: it must start with $6$ or $7$");
  }
  const pbkdf2 = fields[1] === "7";
  const expected = pbkdf2 ? 5 : 4;
  if (fields.length !== expected) {
    const shape = pbkdf2 ? "$7$<iterations>$<salt>$<hash>" : "$6$<salt>$<hash>";
    return invalid(`malformed mosquitto hash: expected ${shape}`);
  }
  const [saltText, hashText] = fields.slice(-2) as [string, string];
  let iterations = 1;
  if (pbkdf2) {
    const parsed = parsePositiveInt(fields[2] ?? "", MAX_PBKDF2_ITERATIONS);
    if (parsed === null) return invalid(`iterations must be an integer from 1 to ${MAX_PBKDF2_ITERATIONS}`);
    iterations = parsed;
  }
  const salt = decodeBase64Padded(saltText);
  if (salt === null) return invalid("salt is not valid base64");
  if (!SALT_LENGTHS.includes(salt.length)) {
    return invalid(`salt decodes to ${salt.length} bytes; mosquitto uses 12 (or 64 from its next release)`);
  }
  const hash = decodeBase64Padded(hashText);
  if (hash === null) return invalid("hash is not valid base64");
  if (hash.length !== HASH_LENGTH) return invalid(`hash decodes to ${hash.length} bytes; mosquitto uses 64`);
  return valid({ scheme: pbkdf2 ? "pbkdf2-sha512" : "sha512", iterations, salt, hash });
}

export async function verifyMosquitto(parsed: MosquittoHash, password: string | Buffer): Promise<boolean> {
  const input = truncateAtNul(passwordBytes(password));
  const computed =
    parsed.scheme === "sha512"
      ? createHash("sha512").update(input).update(parsed.salt).digest()
      : await derivePbkdf2(input, parsed.salt, parsed.iterations, HASH_LENGTH, "sha512");
  return equalBytes(computed, parsed.hash);
}
