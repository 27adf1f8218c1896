/**
 * Child process: provisions the benchmark's fleets straight into a fresh SQLite file, before the
 * server starts, with the project's own modules — the same hashing code, profile chosen by origin,
 * the same store — so the rows are exactly what the provisioning API would have written.
 * Hashing runs `cores` at a time on libuv's threadpool (spawned with UV_THREADPOOL_SIZE ≥ cores).
 * Reads a SeedJob as JSON on stdin (passwords never go through argv); prints a JSON summary.
 */
import { availableParallelism } from "node:os";
import { text } from "node:stream/consumers";
import type { Rule } from "../../src/acl/types.js";
import { loadConfig } from "../../src/config.js";
import { migrate } from "../../src/db/migrate.js";
import { openDatabase } from "../../src/db/open.js";
import { createSqliteStore } from "../../src/db/sqlite-store.js";
import { createPasswordService } from "../../src/passwords/service.js";
import type { PasswordOrigin, StoredPassword } from "../../src/store/types.js";

export interface Credential {
  readonly username: string;
  readonly password: string;
}

export interface SeedJob {
  readonly dbPath: string;
  readonly fleets: readonly { readonly origin: PasswordOrigin; readonly clients: readonly Credential[] }[];
  /** Every client gets this role (its rules) plus its own rule: rules per client = roleRules + 1. */
  readonly role: { readonly name: string; readonly rules: readonly Rule[] };
  readonly clientRule: Rule;
}

const job = JSON.parse(await text(process.stdin)) as SeedJob;
const passwords = createPasswordService(loadConfig({}).argon2);
const db = openDatabase(job.dbPath);
migrate(db);
// A throwaway file: one fsync per row would make seeding disk-bound for nothing.
db.pragma("synchronous = OFF");
const store = createSqliteStore(db);
const audit = { actor: "bench:seed", action: "bench.seed", target: null };

await store.insertRole(
  { name: job.role.name, description: "bench", isDefault: false, rules: job.role.rules },
  audit,
);

const started = performance.now();
const hashSeconds: Record<string, number> = {};
for (const fleet of job.fleets) {
  const fleetStarted = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < fleet.clients.length) {
      const c = fleet.clients[next++]!;
      const password: StoredPassword = await passwords.hash(c.password, fleet.origin);
      const inserted = await store.insertClient(
        {
          username: c.username,
          password,
          boundClientId: null,
          isSuperuser: false,
          isEnabled: true,
          expiresAt: null,
          description: "bench",
        },
        audit,
      );
      if (!inserted) throw new Error(`seed: ${c.username} already exists`);
      const acl = await store.replaceClientAcl(
        c.username,
        { roles: [job.role.name], rules: [job.clientRule] },
        audit,
      );
      if (!acl.ok) throw new Error(`seed: ACL for ${c.username}: ${acl.reason}`);
    }
  };
  await Promise.all(Array.from({ length: availableParallelism() }, lane));
  hashSeconds[fleet.origin] = (performance.now() - fleetStarted) / 1000;
}
await store.close();
process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - started) / 1000, hashSeconds })}\n`);
