#!/usr/bin/env node
// argon2, bcrypt and pbkdf2 run on libuv's threadpool, which is sized once, at its first use: a
// thread for every verify that admission control lets run, and a few more (config.ts). Sized before
// anything that could use the pool is loaded.
const { threadpoolSize } = await import("./config.js");
process.env.UV_THREADPOOL_SIZE ??= String(threadpoolSize(process.env));

const { runCli } = await import("./cli/main.js");
process.exitCode = await runCli(process.argv.slice(2), process.env);
