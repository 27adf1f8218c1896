/**
 * Child process: how many argon2id verifies per second this machine does with the configured
 * profiles, every core busy — the physical limit for cold logins. Prints one JSON line on stdout.
 * Spawned with UV_THREADPOOL_SIZE ≥ cores, as the server sizes its own pool.
 */
import { availableParallelism } from "node:os";
import argon2 from "argon2";
import { type Argon2Profile, loadConfig } from "../../src/config.js";
import { hashArgon2id } from "../../src/passwords/argon2.js";

export interface Argon2Limit {
  readonly profile: Argon2Profile;
  readonly verifiesPerSecond: number;
  readonly meanVerifyMs: number;
}

async function measure(profile: Argon2Profile, seconds: number, concurrency: number): Promise<Argon2Limit> {
  const password = "correct horse battery staple";
  const encoded = await hashArgon2id(password, profile);
  await argon2.verify(encoded, password); // warm-up: the first call pays for allocation
  const started = performance.now();
  const endAt = started + seconds * 1000;
  let done = 0;
  let busyMs = 0;
  const lane = async () => {
    while (performance.now() < endAt) {
      const t = performance.now();
      if (!(await argon2.verify(encoded, password))) throw new Error("argon2 verify failed");
      busyMs += performance.now() - t;
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsedS = (performance.now() - started) / 1000;
  return { profile, verifiesPerSecond: done / elapsedS, meanVerifyMs: busyMs / done };
}

const seconds = Number(process.argv[2] ?? "3");
const { argon2: profiles } = loadConfig({});
const cores = availableParallelism();
const chosen = await measure(profiles.chosen, seconds, cores);
const generated = await measure(profiles.generated, seconds, cores);
process.stdout.write(`${JSON.stringify({ cores, chosen, generated })}\n`);
