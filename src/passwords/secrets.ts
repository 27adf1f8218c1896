import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** 192 bits from the CSPRNG, URL-safe: well above the 128 bits that make offline guessing moot. */
export function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

const TOKEN_PREFIX = "mqa_";

/** Admin tokens carry a recognisable prefix so secret scanners can find leaked ones. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/**
 * Constant-time comparison of two secrets of any length: both sides are hashed first, so neither
 * the content nor the length of the expected value leaks through timing.
 */
export function secretsEqual(presented: string, expected: string): boolean {
  return secretMatcher(expected)(presented);
}

/**
 * `secretsEqual` against a fixed expected secret, for every request: the expected side is hashed
 * once, here, so each call hashes only the presented value. The same guarantees: constant time over
 * equal-length digests, so neither the content nor the length of the secret leaks.
 */
export function secretMatcher(expected: string): (presented: string) => boolean {
  const want = createHash("sha256").update(expected, "utf8").digest();
  return (presented) => timingSafeEqual(createHash("sha256").update(presented, "utf8").digest(), want);
}
