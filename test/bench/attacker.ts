/**
 * Child process: the wrong-password flood's attacker, as fast as the server answers (autocannon,
 * the broker's connection shape). In its own process so that its load generator does not share an
 * event loop with the legitimate devices' client, whose latencies would then measure the attacker's
 * generator instead of the server. Reads an AttackJob as JSON on stdin (usernames only: the wrong
 * passwords are made here); prints the SteadyResult as one JSON line.
 */
import { randomBytes } from "node:crypto";
import { text } from "node:stream/consumers";
import type { Shape } from "./args.js";
import { runSteady } from "./steady.js";

export interface AttackJob {
  readonly port: number;
  readonly shape: Shape;
  readonly seconds: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly victims: readonly string[];
}

const job = JSON.parse(await text(process.stdin)) as AttackJob;
// The parent starts the legitimate devices on this line, so both run over the same seconds.
process.stdout.write(`${JSON.stringify({ attacking: true, port: job.port })}\n`);
const result = await runSteady({
  port: job.port,
  path: "/mqtt/auth",
  shape: job.shape,
  seconds: job.seconds,
  headers: job.headers,
  // A fresh wrong password per request, each from a different address (a botnet, so the per-source
  // lockouts do not end it early): every attempt asks for a slow verify.
  body: (i) =>
    JSON.stringify({
      username: job.victims[i % job.victims.length],
      password: randomBytes(12).toString("base64url"),
      clientid: `attacker-${i}`,
      peerhost: `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}`,
    }),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
