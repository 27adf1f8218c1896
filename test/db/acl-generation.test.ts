import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { openDatabase } from "../../src/db/open.js";
import { createSqliteStore } from "../../src/db/sqlite-store.js";
import type { Store } from "../../src/store/types.js";

/** Two processes on one database: each caches effective rules, and neither may serve stale ones. */

let dir: string;
let a: Store;
let b: Store;
const audit = { actor: "test", action: "test", target: null };
const rule = (topic: string) => ({ permission: "allow" as const, action: "publish" as const, topic });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "mqtt-authd-gen-"));
  const path = join(dir, "db.sqlite");
  const dbA = openDatabase(path);
  migrate(dbA);
  a = createSqliteStore(dbA);
  b = createSqliteStore(openDatabase(path));
  await a.insertClient(
    {
      username: "dev1",
      password: { hash: "$argon2id$x", format: "argon2id", origin: "generated" },
      boundClientId: null,
      isSuperuser: false,
      isEnabled: true,
      expiresAt: null,
      description: "",
    },
    audit,
  );
  await a.insertRole({ name: "r", description: "", isDefault: false, rules: [rule("old/#")] }, audit);
  await a.replaceClientAcl("dev1", { roles: ["r"] }, audit);
});

afterEach(async () => {
  await a.close();
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

const topics = async (store: Store) => (await store.findClientWithRules("dev1"))!.rules.map((r) => r.topic);

describe("effective rules cached per process", () => {
  it("sees a role changed by another connection on the very next read", async () => {
    expect(await topics(a)).toEqual(["old/#"]);
    await b.replaceRole({ name: "r", description: "", isDefault: false, rules: [rule("new/#")] }, audit);
    expect(await topics(a)).toEqual(["new/#"]);
  });

  it("sees a role unassigned, a client rule added and a default role created elsewhere", async () => {
    expect(await topics(a)).toEqual(["old/#"]);
    await b.replaceClientAcl("dev1", { roles: [], rules: [rule("mine/#")] }, audit);
    expect(await topics(a)).toEqual(["mine/#"]);
    await b.insertRole({ name: "everyone", description: "", isDefault: true, rules: [rule("all/#")] }, audit);
    expect(await topics(a)).toEqual(["mine/#", "all/#"]);
  });

  it("forgets the rules of a client deleted and re-created elsewhere", async () => {
    expect(await topics(a)).toEqual(["old/#"]);
    await b.deleteClient("dev1", audit);
    expect(await a.findClientWithRules("dev1")).toBeNull();
  });
});
