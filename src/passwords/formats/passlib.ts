import {
  decodeAb64,
  derivePbkdf2,
  equalBytes,
  MAX_PBKDF2_ITERATIONS,
  parsePositiveInt,
  passwordBytes,
} from "./bytes.js";
import { type Inspection, invalid, valid } from "./inspection.js";

/**
 * Passlib's `$pbkdf2-sha256$<rounds>$<salt>$<checksum>` and `$pbkdf2-sha512$…`
 * (passlib.handlers.pbkdf2): salt and checksum in passlib's "ab64", the checksum as long
 * as the digest. Python hands passlib a str, which it hashes as UTF-8.
 */
export interface PasslibPbkdf2 {
  digest: "sha256" | "sha512";
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

const DIGEST_LENGTHS = { sha256: 32, sha512: 64 } as const;
const MAX_SALT_BYTES = 1024;

export function inspectPasslibPbkdf2(stored: string): Inspection<PasslibPbkdf2> {
  const fields = stored.split("$");
  const digest = fields[1] === "pbkdf2-sha256" ? "sha256" : fields[1] === "pbkdf2-sha512" ? "sha512" : null;
  if (fields[0] !== "" || digest === null) {
    return invalid("not a passlib hash: expected $pbkdf2-sha256$ or $pbkdf2-sha512$");
  }
  if (fields.length !== 5) {
    return invalid(`malformed passlib hash: expected $pbkdf2-${digest}$<rounds>$<salt>$<checksum>`);
  }
  const [, , roundsText, saltText, hashText] = fields as [string, string, string, string, string];
  const iterations = parsePositiveInt(roundsText, MAX_PBKDF2_ITERATIONS);
  if (iterations === null) return invalid(`rounds must be an integer from 1 to ${MAX_PBKDF2_ITERATIONS}`);
  const salt = decodeAb64(saltText);
  if (salt === null || salt.length > MAX_SALT_BYTES) {
    return invalid("salt is not valid ab64 of at most 1024 bytes");
  }
  const hash = decodeAb64(hashText);
  if (hash === null) return invalid("checksum is not valid ab64");
  if (hash.length !== DIGEST_LENGTHS[digest]) {
    return invalid(`checksum decodes to ${hash.length} bytes; ${digest} gives ${DIGEST_LENGTHS[digest]}`);
  }
  return valid({ digest, iterations, salt, hash });
}

export async function verifyPasslibPbkdf2(
  parsed: PasslibPbkdf2,
  password: string | Buffer,
): Promise<boolean> {
  const computed = await derivePbkdf2(
    passwordBytes(password),
    parsed.salt,
    parsed.iterations,
    parsed.hash.length,
    parsed.digest,
  );
  return equalBytes(computed, parsed.hash);
}
