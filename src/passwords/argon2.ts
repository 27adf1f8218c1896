import argon2 from "argon2";
import type { Argon2Profile } from "../config.js";

/** argon2 runs on the libuv threadpool: hashing never blocks the event loop. */
export function hashArgon2id(password: string, profile: Argon2Profile): Promise<string> {
  return argon2.hash(password, {
    type: argon2.argon2id,
    memoryCost: profile.memoryCost,
    timeCost: profile.timeCost,
    parallelism: profile.parallelism,
  });
}
