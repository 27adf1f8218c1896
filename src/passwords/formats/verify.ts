import { verifyArgon2 } from "./argon2.js";
import { verifyBcrypt } from "./bcrypt.js";
import { parseStoredHash } from "./detect.js";
import { verifyEmqx } from "./emqx.js";
import { verifyGoAuthPbkdf2 } from "./go-auth.js";
import { verifyMosquitto } from "./mosquitto.js";
import { verifyPasslibPbkdf2 } from "./passlib.js";

function dispatch(stored: string, password: string | Buffer): Promise<boolean> {
  const parsed = parseStoredHash(stored);
  if (parsed === null) return Promise.resolve(false);
  if ("mosquitto" in parsed) return verifyMosquitto(parsed.mosquitto, password);
  if ("goAuth" in parsed) return verifyGoAuthPbkdf2(parsed.goAuth, password);
  if ("passlib" in parsed) return verifyPasslibPbkdf2(parsed.passlib, password);
  if ("emqx" in parsed) return verifyEmqx(parsed.emqx, password);
  if (parsed.format === "bcrypt") return verifyBcrypt(stored, password);
  return verifyArgon2(stored, password);
}

/**
 * Checks a password against any stored format we know. Unknown or malformed strings and
 * unexpected input types give false rather than an exception: a login must only ever see
 * "wrong password". Slow formats run on the libuv threadpool.
 */
export async function verifyWithFormat(stored: string, password: string | Buffer): Promise<boolean> {
  if (typeof password !== "string" && !Buffer.isBuffer(password)) return false;
  try {
    return await dispatch(stored, password);
  } catch {
    return false;
  }
}
