import bcrypt from "bcrypt";
import { passwordBytes } from "./bytes.js";

// Modular crypt bcrypt: version, two-digit cost 04-31, 22 salt + 31 hash chars of bcrypt's base64.
const BCRYPT = /^\$2[aby]\$(?:0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

export function isBcryptHash(stored: string): boolean {
  return BCRYPT.test(stored);
}

/**
 * bcrypt.compare runs natively on the libuv threadpool. The package answers false for PHP's
 * `$2y$`, which only differs from `$2b$` in name, so the prefix is rewritten before comparing.
 */
export function verifyBcrypt(stored: string, password: string | Buffer): Promise<boolean> {
  const normalized = stored.startsWith("$2y$") ? `$2b$${stored.slice(4)}` : stored;
  return bcrypt.compare(passwordBytes(password), normalized);
}
