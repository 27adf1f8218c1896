import { pbkdf2, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

// The callback form runs on the libuv threadpool, so slow derivations never block the event loop.
const pbkdf2Async = promisify(pbkdf2);

export type Pbkdf2Digest = "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

/**
 * Far above any real configuration (mosquitto's next release uses 210 000), yet it keeps a
 * corrupt or hostile stored value from pinning a threadpool thread for minutes.
 */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;

/** MQTT passwords are binary; a string is taken as UTF-8, as every broker we import from does. */
export function passwordBytes(password: string | Buffer): Buffer {
  return typeof password === "string" ? Buffer.from(password, "utf8") : password;
}

/** Mosquitto passes the CONNECT password around as a C string: its hashes never saw bytes after a NUL. */
export function truncateAtNul(bytes: Buffer): Buffer {
  const nul = bytes.indexOf(0);
  return nul === -1 ? bytes : bytes.subarray(0, nul);
}

export function derivePbkdf2(
  password: Buffer,
  salt: Buffer,
  iterations: number,
  keyLength: number,
  digest: Pbkdf2Digest,
): Promise<Buffer> {
  return pbkdf2Async(password, salt, iterations, keyLength, digest);
}

/**
 * Constant-time equality. Callers derive `computed` at the stored length, so lengths only
 * differ for a corrupt stored value, and a stored length is public anyway.
 */
export function equalBytes(computed: Buffer, stored: Buffer): boolean {
  if (computed.length !== stored.length) return false;
  return timingSafeEqual(computed, stored);
}

// Node's base64 decoder silently skips characters outside the alphabet; these patterns make
// decoding strict, so a corrupted stored value is reported instead of half-decoded.
const STD_PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const STD_UNPADDED = /^[A-Za-z0-9+/]*$/;
const URL_UNPADDED = /^[A-Za-z0-9_-]*$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Standard alphabet with `=` padding (mosquitto, go-auth). */
export function decodeBase64Padded(s: string): Buffer | null {
  return STD_PADDED.test(s) ? Buffer.from(s, "base64") : null;
}

/** Standard alphabet without padding (argon2 PHC strings, go-auth's PHC variant). */
export function decodeBase64Unpadded(s: string): Buffer | null {
  return STD_UNPADDED.test(s) && s.length % 4 !== 1 ? Buffer.from(s, "base64") : null;
}

/** Passlib's "adapted base64": '.' stands for '+', no padding. */
export function decodeAb64(s: string): Buffer | null {
  return s.includes("+") ? null : decodeBase64Unpadded(s.replaceAll(".", "+"));
}

/** URL-safe alphabet without padding: our own encoding for salts inside `$`-separated strings. */
export function decodeBase64Url(s: string): Buffer | null {
  return URL_UNPADDED.test(s) && s.length % 4 !== 1 ? Buffer.from(s, "base64url") : null;
}

export function decodeHex(s: string): Buffer | null {
  return HEX.test(s) ? Buffer.from(s, "hex") : null;
}

/** A decimal without sign or leading zeros, in 1..max. */
export function parsePositiveInt(s: string, max: number): number | null {
  if (!/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const n = Number(s);
  return n <= max ? n : null;
}
