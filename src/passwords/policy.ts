/** What a supplied password must satisfy. Expected failures come back as a reason, not an exception. */
export interface PasswordPolicy {
  readonly minLength: number;
  readonly maxBytes: number;
}

export function checkPassword(password: string, policy: PasswordPolicy): string | null {
  // Bytes first: hashing a 10 MB string is a denial of service, and we must not even count it slowly.
  if (Buffer.byteLength(password, "utf8") > policy.maxBytes) {
    return `password must be at most ${policy.maxBytes} bytes`;
  }
  if ([...password].length < policy.minLength) {
    return `password must be at least ${policy.minLength} characters`;
  }
  // MQTT clients written in C (and mosquitto's own hashes) stop at the first NUL byte.
  if (password.includes("\u0000")) return "password must not contain NUL characters";
  return null;
}
