#!/usr/bin/env node
import { availableParallelism } from "node:os";

// argon2, bcrypt and pbkdf2 run on libuv's threadpool, which is sized once, at its first use: a
// thread for every verify admission control lets run (both lanes' slots, config.ts), and four more
// so file-system and other crypto work never queue behind them. Set before anything else is loaded.
const slots = (name: string, dflt: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n >= 1 && n <= 256 ? n : dflt;
};
const cores = availableParallelism();
process.env.UV_THREADPOOL_SIZE ??= String(
  Math.min(
    1024,
    slots("MQTT_AUTHD_VERIFY_CONCURRENCY", cores) +
      slots("MQTT_AUTHD_GENERATED_VERIFY_CONCURRENCY", 4 * cores) +
      4,
  ),
);

const { runCli } = await import("./cli/main.js");
process.exitCode = await runCli(process.argv.slice(2), process.env);
