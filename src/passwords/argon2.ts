import argon2 from "argon2";
import type { Argon2Profile } from "../config.js";

/** argon2 runs on the libuv threadpool: hashing and verifying never block the event loop. */
export function hashArgon2id(password: string, profile: Argon2Profile): Promise<string> {
  return argon2.hash(password, {
    type: argon2.argon2id,
    memoryCost: profile.memoryCost,
    timeCost: profile.timeCost,
    parallelism: profile.parallelism,
  });
}

/** Reads m, t, p from an encoded `$argon2id$v=19$m=…,p=…,t=…$salt$hash` string (any order). */
export function argon2idParams(encoded: string): Argon2Profile | null {
  const section = /^\$argon2id\$v=\d+\$([^$]+)\$/.exec(encoded)?.[1];
  if (section === undefined) return null;
  const params = new Map(section.split(",").map((kv) => kv.split("=") as [string, string]));
  const [m, t, p] = ["m", "t", "p"].map((k) => Number(params.get(k)));
  if (!Number.isInteger(m) || !Number.isInteger(t) || !Number.isInteger(p)) return null;
  return { memoryCost: m!, timeCost: t!, parallelism: p! };
}
