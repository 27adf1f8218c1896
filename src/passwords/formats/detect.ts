import { type Argon2Variant, argon2Variant } from "./argon2.js";
import { isBcryptHash } from "./bcrypt.js";
import { type EmqxHash, inspectEmqxHash } from "./emqx.js";
import { type GoAuthPbkdf2, inspectGoAuthPbkdf2 } from "./go-auth.js";
import { inspectMosquittoHash, type MosquittoHash } from "./mosquitto.js";
import { inspectPasslibPbkdf2, type PasslibPbkdf2 } from "./passlib.js";

export type HashFormat =
  | Argon2Variant
  | "bcrypt"
  | "mosquitto-pbkdf2-sha512"
  | "mosquitto-sha512"
  | "go-auth-pbkdf2"
  | "passlib-pbkdf2-sha256"
  | "passlib-pbkdf2-sha512"
  | "emqx-md5"
  | "emqx-sha1"
  | "emqx-sha256"
  | "emqx-sha512"
  | "emqx-pbkdf2";

export type ParsedHash =
  | { format: Argon2Variant | "bcrypt" }
  | { format: "mosquitto-pbkdf2-sha512" | "mosquitto-sha512"; mosquitto: MosquittoHash }
  | { format: "go-auth-pbkdf2"; goAuth: GoAuthPbkdf2 }
  | { format: "passlib-pbkdf2-sha256" | "passlib-pbkdf2-sha512"; passlib: PasslibPbkdf2 }
  | { format: "emqx-md5" | "emqx-sha1" | "emqx-sha256" | "emqx-sha512" | "emqx-pbkdf2"; emqx: EmqxHash };

// The longest legitimate strings (pbkdf2 with a 1 KiB salt and key) stay well below this;
// anything longer is not worth running a regular expression over.
const MAX_STORED_LENGTH = 8192;

function parseByPrefix(stored: string): ParsedHash | null {
  if (stored.startsWith("$argon2")) {
    const variant = argon2Variant(stored);
    return variant === null ? null : { format: variant };
  }
  if (stored.startsWith("$2")) return isBcryptHash(stored) ? { format: "bcrypt" } : null;
  if (stored.startsWith("$6$") || stored.startsWith("$7$")) {
    const r = inspectMosquittoHash(stored);
    if (!r.ok) return null;
    const format = r.value.scheme === "sha512" ? "mosquitto-sha512" : "mosquitto-pbkdf2-sha512";
    return { format, mosquitto: r.value };
  }
  if (stored.startsWith("PBKDF2$")) {
    const r = inspectGoAuthPbkdf2(stored);
    return r.ok ? { format: "go-auth-pbkdf2", goAuth: r.value } : null;
  }
  if (stored.startsWith("$pbkdf2-")) {
    const r = inspectPasslibPbkdf2(stored);
    return r.ok ? { format: `passlib-pbkdf2-${r.value.digest}`, passlib: r.value } : null;
  }
  if (stored.startsWith("$emqx-")) {
    const r = inspectEmqxHash(stored);
    if (!r.ok) return null;
    return { format: r.value.kind === "pbkdf2" ? "emqx-pbkdf2" : `emqx-${r.value.digest}`, emqx: r.value };
  }
  return null;
}

/** Reads a stored hash string; null when it is no format we know or is malformed. Never throws. */
export function parseStoredHash(stored: string): ParsedHash | null {
  if (typeof stored !== "string" || stored.length > MAX_STORED_LENGTH) return null;
  return parseByPrefix(stored);
}

export function detectFormat(stored: string): HashFormat | null {
  return parseStoredHash(stored)?.format ?? null;
}
