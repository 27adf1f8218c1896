import {
  decodeBase64Padded,
  decodeBase64Unpadded,
  derivePbkdf2,
  equalBytes,
  MAX_PBKDF2_ITERATIONS,
  parsePositiveInt,
  passwordBytes,
  truncateAtNul,
} from "./bytes.js";
import { type Inspection, invalid, valid } from "./inspection.js";

/**
 * mosquitto-go-auth's pbkdf2 hasher (hashing/pbkdf2.go, peer-brokers.md §1), stored as
 * `PBKDF2$<sha256|sha512>$<iterations>$<salt>$<hash>`, both standard padded base64.
 * go-auth can also be configured to keep the salt as raw text (`hasher_salt_encoding utf-8`);
 * such a string cannot be told apart from a base64 one, so importers pass it through
 * normalizeGoAuthPbkdf2, which re-encodes the salt, and only the base64 form is ever stored.
 */
export interface GoAuthPbkdf2 {
  digest: "sha256" | "sha512";
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

export type GoAuthSaltEncoding = "base64" | "utf-8";

const MAX_FIELD_BYTES = 1024;

function checkLengths(salt: Buffer, hash: Buffer): string | null {
  if (salt.length === 0 || salt.length > MAX_FIELD_BYTES) return `salt must be 1 to ${MAX_FIELD_BYTES} bytes`;
  if (hash.length === 0 || hash.length > MAX_FIELD_BYTES) return `hash must be 1 to ${MAX_FIELD_BYTES} bytes`;
  return null;
}

export function inspectGoAuthPbkdf2(stored: string): Inspection<GoAuthPbkdf2> {
  const fields = stored.split("$");
  if (fields[0] !== "PBKDF2") return invalid("not a go-auth hash: it must start with PBKDF2$");
  if (fields.length !== 5) {
    return invalid("malformed go-auth hash: expected PBKDF2$<algorithm>$<iterations>$<salt>$<hash>");
  }
  const [, digest, iterationsText, saltText, hashText] = fields as [string, string, string, string, string];
  if (digest !== "sha256" && digest !== "sha512") return invalid("algorithm must be sha256 or sha512");
  const iterations = parsePositiveInt(iterationsText, MAX_PBKDF2_ITERATIONS);
  if (iterations === null) return invalid(`iterations must be an integer from 1 to ${MAX_PBKDF2_ITERATIONS}`);
  const salt = decodeBase64Padded(saltText);
  if (salt === null) return invalid("salt is not valid padded base64");
  const hash = decodeBase64Padded(hashText);
  if (hash === null) return invalid("hash is not valid padded base64");
  const problem = checkLengths(salt, hash);
  return problem === null ? valid({ digest, iterations, salt, hash }) : invalid(problem);
}

function encode(parsed: GoAuthPbkdf2): string {
  const { digest, iterations, salt, hash } = parsed;
  return `PBKDF2$${digest}$${iterations}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** go-auth's alternative `$pbkdf2-sha512$i=<iterations>,l=<keylen>$<salt>$<hash>`, unpadded base64. */
function inspectPhcVariant(raw: string, saltEncoding: GoAuthSaltEncoding): Inspection<GoAuthPbkdf2> {
  const fields = raw.split("$");
  if (fields.length !== 5 || fields[0] !== "") return invalid("malformed go-auth $pbkdf2-sha512$ hash");
  const [, , paramText, saltText, hashText] = fields as [string, string, string, string, string];
  const params = /^(?:i=(?<i>\d+),l=(?<l>\d+)|l=(?<l2>\d+),i=(?<i2>\d+))$/.exec(paramText)?.groups;
  if (params === undefined) {
    return invalid("$pbkdf2-sha512$ parameters must be exactly i=<iterations>,l=<key length>");
  }
  const iterations = parsePositiveInt(params.i ?? params.i2 ?? "", MAX_PBKDF2_ITERATIONS);
  if (iterations === null) return invalid(`iterations must be an integer from 1 to ${MAX_PBKDF2_ITERATIONS}`);
  const salt = saltEncoding === "utf-8" ? Buffer.from(saltText, "utf8") : decodeBase64Unpadded(saltText);
  if (salt === null) return invalid("salt is not valid unpadded base64");
  const hash = decodeBase64Unpadded(hashText);
  if (hash === null) return invalid("hash is not valid unpadded base64");
  if (String(hash.length) !== (params.l ?? params.l2)) {
    return invalid("hash length differs from the l= parameter");
  }
  const problem = checkLengths(salt, hash);
  return problem === null ? valid({ digest: "sha512", iterations, salt, hash }) : invalid(problem);
}

/**
 * Turns a pbkdf2 hash as go-auth accepts it into our stored `PBKDF2$…` form: raw-text salts
 * are re-encoded, the PHC variant is rewritten, and an algorithm other than sha256 becomes
 * sha512 because that is what go-auth computes for it (issue #269 relies on `PBKDF2$7$…`).
 */
export function normalizeGoAuthPbkdf2(raw: string, saltEncoding: GoAuthSaltEncoding): Inspection<string> {
  if (raw.startsWith("$pbkdf2-sha512$")) {
    const phc = inspectPhcVariant(raw, saltEncoding);
    return phc.ok ? valid(encode(phc.value)) : phc;
  }
  const fields = raw.split("$");
  if (fields[0] !== "PBKDF2" || fields.length !== 5 || fields.some((f) => f === "")) {
    return invalid("malformed go-auth hash: expected PBKDF2$<algorithm>$<iterations>$<salt>$<hash>");
  }
  const [, algorithm, iterations, saltText, hashText] = fields as [string, string, string, string, string];
  const digest = algorithm === "sha256" ? "sha256" : "sha512";
  const salt = saltEncoding === "utf-8" ? Buffer.from(saltText, "utf8").toString("base64") : saltText;
  const stored = `PBKDF2$${digest}$${iterations}$${salt}$${hashText}`;
  const checked = inspectGoAuthPbkdf2(stored);
  return checked.ok ? valid(stored) : checked;
}

export async function verifyGoAuthPbkdf2(parsed: GoAuthPbkdf2, password: string | Buffer): Promise<boolean> {
  // go-auth receives the password from mosquitto as a C string, so it never saw bytes after a NUL.
  const input = truncateAtNul(passwordBytes(password));
  const computed = await derivePbkdf2(
    input,
    parsed.salt,
    parsed.iterations,
    parsed.hash.length,
    parsed.digest,
  );
  return equalBytes(computed, parsed.hash);
}
