import type { Config } from "../config.js";
import type { PasswordOrigin, StoredPassword } from "../store/types.js";
import { hashArgon2id } from "./argon2.js";
import { needsRehash, verifyWithFormat } from "./formats/index.js";

export interface PasswordService {
  /** Hashes with the profile the origin calls for: light for generated secrets, full otherwise. */
  hash(password: string, origin: PasswordOrigin): Promise<StoredPassword>;
  /** Verifies against any stored format we support (argon2, bcrypt, mosquitto, PBKDF2, EMQX); never throws. */
  verify(stored: string, password: string): Promise<boolean>;
  /**
   * True when a successful login should rehash: a legacy format, or argon2id below the profile of
   * the credential's origin. The origin never changes on upgrade, so a credential never moves
   * between profiles by accident (a generated secret stays light, an imported one gets the full one).
   */
  needsUpgrade(stored: string, origin: PasswordOrigin): boolean;
}

export function createPasswordService(profiles: Config["argon2"]): PasswordService {
  const profileFor = (origin: PasswordOrigin) =>
    origin === "generated" ? profiles.generated : profiles.chosen;

  return {
    async hash(password, origin) {
      return { hash: await hashArgon2id(password, profileFor(origin)), format: "argon2id", origin };
    },

    verify: verifyWithFormat,

    needsUpgrade(stored, origin) {
      const want = profileFor(origin);
      return needsRehash(stored, { m: want.memoryCost, t: want.timeCost, p: want.parallelism });
    },
  };
}
