import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Services } from "../service.js";
import { cliActor } from "./actor.js";
import { type CliIo, UsageError } from "./commands.js";

/** `mqtt-authd client unlock`, `lockouts`, `backup`: what an admin reaches for during an incident. */

export async function runUnlock(services: Services, io: CliIo, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { peerhost: { type: "string" } },
    allowPositionals: true,
  });
  const username = positionals[0];
  if (username === undefined && values.peerhost === undefined) {
    throw new UsageError("usage: mqtt-authd client unlock USERNAME [--peerhost ADDR] | --peerhost ADDR");
  }
  const query = {
    ...(username !== undefined && { username }),
    ...(values.peerhost !== undefined && { peerhost: values.peerhost }),
  };
  const cleared = await services.store.clearLockouts(query, {
    actor: cliActor(),
    action: "lockout.clear",
    target: username ?? null,
    details: { ...query },
  });
  io.out(`cleared ${cleared} lockout${cleared === 1 ? "" : "s"}`);
}

export async function runLockouts(services: Services, io: CliIo, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { all: { type: "boolean" }, json: { type: "boolean" } } });
  const lockouts = await services.store.listLockouts(
    values.all ? {} : { activeAt: new Date().toISOString() },
  );
  if (values.json) return io.out(JSON.stringify(lockouts, null, 2));
  io.out(["SCOPE", "USERNAME", "PEERHOST", "FAILURES", "LOCKED_UNTIL"].join("\t"));
  for (const l of lockouts) {
    io.out([l.scope, l.username || "-", l.peerhost || "-", String(l.failures), l.lockedUntil].join("\t"));
  }
}

export async function runBackup(services: Services, io: CliIo, args: string[]): Promise<void> {
  const [destination] = args;
  if (destination === undefined) throw new UsageError("usage: mqtt-authd backup FILE");
  if (existsSync(destination)) throw new UsageError(`${destination} exists; refusing to overwrite it`);
  await services.store.backup(destination);
  io.out(`backup written to ${destination}`);
}
