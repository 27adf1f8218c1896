import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { LRUCache } from "lru-cache";

/**
 * The verified-credential fast path. After a slow verify succeeds we keep, per username, an
 * HMAC-SHA256 under a key that exists only in this process's memory, over (stored hash, username,
 * password). It is not offline-crackable (the key is never stored), it holds no plaintext, and it is
 * bound to the exact stored hash: when the row's hash changes (rotation, upgrade), the MAC no longer
 * matches and the entry is dead. Disable, delete and expiry are checked on the current row before the
 * cache is consulted, so every process sharing the database stays correct.
 */

export type FastCheck =
  /** The presented password is the one that verified against this exact hash. */
  | "match"
  /**
   * Another password verified against this exact hash, so this one cannot: argon2 has no second
   * preimages. (Only claimed for hash formats that read every byte of the password.)
   */
  | "mismatch"
  | "unknown";

export interface VerifyCache {
  check(username: string, storedHash: string, password: string): FastCheck;
  remember(username: string, storedHash: string, password: string): void;
  forget(username: string): void;
  readonly size: number;
}

interface Entry {
  readonly storedHash: string;
  readonly mac: Buffer;
}

// bcrypt reads only the first 72 bytes and mosquitto's formats stop at a NUL: two different
// passwords can verify against one such hash, so a different MAC proves nothing there.
const readsWholePassword = (storedHash: string) => storedHash.startsWith("$argon2");

export function createVerifyCache(opts: { maxEntries: number; ttlMs: number }): VerifyCache {
  const key = randomBytes(32);
  const cache = new LRUCache<string, Entry>({ max: opts.maxEntries, ttl: opts.ttlMs });
  const mac = (storedHash: string, username: string, password: string) =>
    createHmac("sha256", key)
      .update(storedHash)
      .update("\0")
      .update(username)
      .update("\0")
      .update(password)
      .digest();

  return {
    check(username, storedHash, password) {
      const entry = cache.get(username);
      if (entry === undefined || entry.storedHash !== storedHash) return "unknown";
      if (timingSafeEqual(entry.mac, mac(storedHash, username, password))) return "match";
      return readsWholePassword(storedHash) ? "mismatch" : "unknown";
    },
    remember(username, storedHash, password) {
      cache.set(username, { storedHash, mac: mac(storedHash, username, password) });
    },
    forget(username) {
      cache.delete(username);
    },
    get size() {
      return cache.size;
    },
  };
}
