#!/usr/bin/env node
import { availableParallelism } from "node:os";

// argon2, bcrypt and pbkdf2 run on libuv's threadpool, which is sized once, at its first use.
// Admission control lets one slow verify per core run; four more threads keep file-system and other
// crypto work from queueing behind them. Set before anything else is loaded.
process.env.UV_THREADPOOL_SIZE ??= String(availableParallelism() + 4);

const { runCli } = await import("./cli/main.js");
process.exitCode = await runCli(process.argv.slice(2), process.env);
