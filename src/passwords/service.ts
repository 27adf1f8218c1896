import argon2 from "argon2";
import type { Config } from "../config.js";
import type { PasswordOrigin, StoredPassword } from "../store/types.js";
import { argon2idParams, hashArgon2id } from "./argon2.js";

export interface PasswordService {
  /** Hashes with the profile the origin calls for: light for generated secrets, full otherwise. */
  hash(password: string, origin: PasswordOrigin): Promise<StoredPassword>;
  /** Verifies against any stored format we support; false (never a throw) for malformed hashes. */
  verify(stored: string, password: string): Promise<boolean>;
  /** True when a successful login should rehash: legacy format or argon2 below the configured profile. */
  needsUpgrade(stored: string, origin: PasswordOrigin): boolean;
}

export function createPasswordService(profiles: Config["argon2"]): PasswordService {
  const profileFor = (origin: PasswordOrigin) =>
    origin === "generated" ? profiles.generated : profiles.chosen;

  return {
    async hash(password, origin) {
      return { hash: await hashArgon2id(password, profileFor(origin)), format: "argon2id", origin };
    },

    async verify(stored, password) {
      if (!stored.startsWith("$argon2")) return false;
      try {
        return await argon2.verify(stored, password);
      } catch {
        return false;
      }
    },

    needsUpgrade(stored, origin) {
      const params = argon2idParams(stored);
      if (params === null) return true;
      const want = profileFor(origin);
      return (
        params.memoryCost < want.memoryCost ||
        params.timeCost < want.timeCost ||
        params.parallelism < want.parallelism
      );
    },
  };
}
