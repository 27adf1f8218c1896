import { type Argon2Params, argon2Params, isArgon2id } from "./argon2.js";
import { type HashFormat, parseStoredHash } from "./detect.js";

export interface FormatDescription {
  format: HashFormat;
  /**
   * One round of a general-purpose digest (mosquitto `$6$`, EMQX md5/sha*): a leaked database
   * falls to GPU guessing, so these are the first to rehash.
   */
  fastDigest: boolean;
}

const FAST_DIGESTS: ReadonlySet<HashFormat> = new Set([
  "mosquitto-sha512",
  "emqx-md5",
  "emqx-sha1",
  "emqx-sha256",
  "emqx-sha512",
]);

export function describeFormat(stored: string): FormatDescription | null {
  const parsed = parseStoredHash(stored);
  return parsed === null ? null : { format: parsed.format, fastDigest: FAST_DIGESTS.has(parsed.format) };
}

/**
 * True unless `stored` is argon2id at least as costly as `target` in memory and passes.
 * Parallelism is not compared: at equal m and t more lanes make a guess no more expensive.
 */
export function needsRehash(stored: string, target: Argon2Params): boolean {
  const params = isArgon2id(stored) ? argon2Params(stored) : null;
  return params === null || params.m < target.m || params.t < target.t;
}

/**
 * Whether an exporter can write `stored` into a mosquitto 2.0 password file: 2.0 reads only
 * `$6$`/`$7$` with a 12-byte salt, so the next release's 64-byte salts and argon2id are out.
 */
export function canExportToMosquitto(stored: string): boolean {
  const parsed = parseStoredHash(stored);
  return parsed !== null && "mosquitto" in parsed && parsed.mosquitto.salt.length === 12;
}
