import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { openDatabase } from "../../src/db/open.js";
import { migratePostgres } from "../../src/db/postgres/migrate.js";
import { openPostgresPool } from "../../src/db/postgres/open.js";
import { createPostgresStore } from "../../src/db/postgres/store.js";
import { createSqliteStore } from "../../src/db/sqlite-store.js";
import type {
  AuditEntry,
  ImportPlan,
  LockoutRecord,
  NewClient,
  Rule,
  Store,
  StoredPassword,
} from "../../src/store/types.js";
import { createPgDatabase } from "../helpers/pg.js";
import { openTestDb, type TestDb } from "../helpers/test-db.js";

/**
 * The storage contract, once per engine: every Store method must answer the same on SQLite and on
 * PostgreSQL. Each test gets a fresh, migrated database and two store instances on it (`store`
 * and `other`, as two replicas or the CLI beside the service would be).
 */

interface Harness {
  readonly store: Store;
  /** A second store on the same database: another process. */
  readonly other: Store;
  /** The database as an admin sees it, in SQLite's shapes (test/helpers/test-db.ts). */
  readonly db: TestDb;
  close(): Promise<void>;
}

const START = Date.parse("2026-03-01T12:00:00.000Z");
let clock = START;
const now = () => new Date(clock).toISOString();
const at = (offsetMs: number) => new Date(START + offsetMs).toISOString();
const advance = (ms: number) => {
  clock += ms;
};

const dialects: { name: string; open(): Promise<Harness> }[] = [
  {
    name: "sqlite",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "mqtt-authd-contract-"));
      const path = join(dir, "db.sqlite");
      const db = openDatabase(path);
      migrate(db);
      const store = createSqliteStore(db, now);
      const other = createSqliteStore(openDatabase(path), now);
      const testDb = openTestDb({ kind: "sqlite", path });
      return {
        store,
        other,
        db: testDb,
        async close() {
          await testDb.close();
          await store.close();
          await other.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    async open() {
      const database = await createPgDatabase();
      const pool = openPostgresPool(database.url, { max: 4 });
      await migratePostgres(pool);
      const store = createPostgresStore(pool, now);
      const other = createPostgresStore(openPostgresPool(database.url, { max: 2 }), now);
      const testDb = openTestDb({ kind: "postgres", url: database.url, poolSize: 2 });
      return {
        store,
        other,
        db: testDb,
        async close() {
          await testDb.close();
          await store.close();
          await other.close();
          await database.drop();
        },
      };
    },
  },
];

const audit = (
  action: string,
  target: string | null = null,
  details?: Record<string, unknown>,
): AuditEntry => ({
  actor: "tester",
  action,
  target,
  ...(details !== undefined && { details }),
});

const pw = (hash: string, origin: StoredPassword["origin"] = "generated"): StoredPassword => ({
  hash,
  format: hash.startsWith("$2") ? "bcrypt" : "argon2id",
  origin,
});

const newClient = (username: string, extra: Partial<NewClient> = {}): NewClient => ({
  username,
  password: pw(`$argon2id$${username}`),
  boundClientId: null,
  isSuperuser: false,
  isEnabled: true,
  expiresAt: null,
  description: "",
  ...extra,
});

const rule = (topic: string, extra: Partial<Rule> = {}): Rule => ({
  permission: "allow",
  action: "publish",
  topic,
  ...extra,
});

describe.each(dialects)("Store contract on $name", (dialect) => {
  let h: Harness;
  let store: Store;

  beforeEach(async () => {
    clock = START;
    h = await dialect.open();
    store = h.store;
  });
  afterEach(async () => {
    await h.close();
  });

  const auditActions = async () => (await h.db.auditRows()).map((r) => `${r.action} ${r.target ?? "-"}`);
  const count = async (sql: string, ...params: unknown[]) =>
    Number(
      (await h.db.query<{ n: number }>(`SELECT CAST(count(*) AS INTEGER) AS n FROM ${sql}`, ...params))[0]!.n,
    );

  describe("clients", () => {
    it("inserts a client and reads back every field, with ISO UTC times", async () => {
      const expires = at(86_400_000);
      expect(
        await store.insertClient(
          newClient("dev1", {
            password: pw("$argon2id$abc", "chosen"),
            boundClientId: "cid-1",
            isSuperuser: true,
            expiresAt: expires,
            description: "the first",
          }),
          audit("client.create", "dev1", { origin: "chosen" }),
        ),
      ).toBe(true);
      expect(await store.findClient("dev1")).toEqual({
        username: "dev1",
        passwordHash: "$argon2id$abc",
        hashFormat: "argon2id",
        passwordOrigin: "chosen",
        boundClientId: "cid-1",
        isSuperuser: true,
        isEnabled: true,
        expiresAt: expires,
        description: "the first",
        createdAt: now(),
        updatedAt: now(),
        passwordChangedAt: now(),
        lastLoginAt: null,
        lastLoginPeerhost: null,
      });
      const [row] = await store.listAudit({ limit: 10 });
      expect(row).toEqual({
        id: expect.any(Number),
        at: now(),
        actor: "tester",
        action: "client.create",
        target: "dev1",
        details: { origin: "chosen" },
      });
    });

    it("refuses a taken username without changing it or writing an audit row", async () => {
      await store.insertClient(newClient("dev1", { description: "original" }), audit("create", "dev1"));
      expect(
        await store.insertClient(newClient("dev1", { description: "dup" }), audit("create", "dev1")),
      ).toBe(false);
      expect((await store.findClient("dev1"))?.description).toBe("original");
      expect(await auditActions()).toEqual(["create dev1"]);
    });

    it("writes the change and its audit row in one transaction: an audit that cannot be written undoes the change", async () => {
      await expect(
        store.insertClient(newClient("dev1"), audit("create", "dev1", { n: 1n as unknown as number })),
      ).rejects.toThrow();
      expect(await store.findClient("dev1")).toBeNull();
      expect(await h.db.auditRows()).toEqual([]);
    });

    it("finds nothing for an unknown username, or one no database row can hold (NUL)", async () => {
      await store.insertClient(newClient("dev1"), audit("create"));
      expect(await store.findClient("dev2")).toBeNull();
      expect(await store.findClient("dev1\0")).toBeNull();
      expect(await store.findClientWithRules("dev1\0x")).toBeNull();
    });

    it("lists in byte order with keyset pagination", async () => {
      for (const u of ["b", "a", "B", "c", "_", "ab"])
        await store.insertClient(newClient(u), audit("create"));
      const names = async (q: Parameters<Store["listClients"]>[0]) =>
        (await store.listClients(q)).map((c) => c.username);
      expect(await names({ limit: 10 })).toEqual(["B", "_", "a", "ab", "b", "c"]);
      expect(await names({ limit: 2 })).toEqual(["B", "_"]);
      expect(await names({ limit: 2, after: "_" })).toEqual(["a", "ab"]);
      expect(await names({ limit: 10, after: "ab" })).toEqual(["b", "c"]);
      expect(await names({ limit: 10, after: "c" })).toEqual([]);
    });

    it("filters by state, superuser flag and a literal prefix (% and _ are not wildcards)", async () => {
      await store.insertClient(newClient("on"), audit("create"));
      await store.insertClient(newClient("off", { isEnabled: false }), audit("create"));
      await store.insertClient(newClient("old", { expiresAt: at(1000) }), audit("create"));
      await store.insertClient(
        newClient("later", { expiresAt: at(60_000), isSuperuser: true }),
        audit("create"),
      );
      for (const u of ["a%b", "a%c", "axb", "a_1", "ab1", "a\\x"])
        await store.insertClient(newClient(u), audit("c"));
      advance(5000);
      const names = async (q: Omit<Parameters<Store["listClients"]>[0], "limit">) =>
        (await store.listClients({ limit: 100, ...q })).map((c) => c.username);
      expect(await names({ state: "disabled" })).toEqual(["off"]);
      expect(await names({ state: "expired" })).toEqual(["old"]);
      expect(await names({ state: "active", usernamePrefix: "l" })).toEqual(["later"]);
      expect(await names({ state: "active" })).not.toContain("old");
      expect(await names({ isSuperuser: true })).toEqual(["later"]);
      expect(await names({ isSuperuser: false, usernamePrefix: "o" })).toEqual(["off", "old", "on"]);
      expect(await names({ usernamePrefix: "a%" })).toEqual(["a%b", "a%c"]);
      expect(await names({ usernamePrefix: "a_" })).toEqual(["a_1"]);
      expect(await names({ usernamePrefix: "a\\" })).toEqual(["a\\x"]);
      expect(await names({ usernamePrefix: "a%", after: "a%b" })).toEqual(["a%c"]);
      expect(await names({ usernamePrefix: "zz" })).toEqual([]);
    });

    it("patches only the given fields and moves updated_at; an unknown client is null and unaudited", async () => {
      await store.insertClient(newClient("dev1", { description: "d", boundClientId: "c1" }), audit("create"));
      const created = (await store.findClient("dev1"))!;
      advance(1000);
      const updated = await store.updateClient(
        "dev1",
        { isEnabled: false, expiresAt: at(99_000), boundClientId: null },
        audit("update", "dev1"),
      );
      expect(updated).toEqual({
        ...created,
        isEnabled: false,
        expiresAt: at(99_000),
        boundClientId: null,
        updatedAt: now(),
      });
      expect(await store.findClient("dev1")).toEqual(updated);
      expect(await store.updateClient("ghost", { description: "x" }, audit("update", "ghost"))).toBeNull();
      expect(await auditActions()).toEqual(["create -", "update dev1"]);
    });

    it("sets a password (moving both times) and compare-and-sets a rehash (moving neither)", async () => {
      await store.insertClient(newClient("dev1"), audit("create"));
      advance(1000);
      expect(await store.setPassword("dev1", pw("$2b$10$new", "chosen"), audit("password", "dev1"))).toBe(
        true,
      );
      const set = (await store.findClient("dev1"))!;
      expect(set).toMatchObject({
        passwordHash: "$2b$10$new",
        hashFormat: "bcrypt",
        passwordOrigin: "chosen",
        passwordChangedAt: now(),
        updatedAt: now(),
      });
      expect(await store.setPassword("ghost", pw("$argon2id$x"), audit("password", "ghost"))).toBe(false);

      advance(1000);
      expect(await store.replacePasswordHash("dev1", "$2b$10$stale", pw("$argon2id$re", "chosen"))).toBe(
        false,
      );
      expect((await store.findClient("dev1"))!.passwordHash).toBe("$2b$10$new");
      expect(await store.replacePasswordHash("dev1", "$2b$10$new", pw("$argon2id$re", "chosen"))).toBe(true);
      expect(await store.findClient("dev1")).toEqual({
        ...set,
        passwordHash: "$argon2id$re",
        hashFormat: "argon2id",
      });
      expect(await auditActions()).toEqual(["create -", "password dev1"]);
    });

    it("deletes a client with its rules and role assignments, keeping the role", async () => {
      await store.insertClient(newClient("dev1"), audit("create"));
      await store.insertClient(newClient("dev2"), audit("create"));
      await store.insertRole(
        { name: "r", description: "", isDefault: false, rules: [rule("r/#")] },
        audit("role"),
      );
      await store.replaceClientAcl(
        "dev1",
        { roles: ["r"], rules: [rule("own/1"), rule("own/2")] },
        audit("acl"),
      );
      await store.replaceClientAcl("dev2", { roles: ["r"], rules: [rule("two/1")] }, audit("acl"));
      expect(await store.deleteClient("dev1", audit("delete", "dev1"))).toBe(true);
      expect(await store.findClient("dev1")).toBeNull();
      expect(await store.findClientAcl("dev1")).toBeNull();
      expect(await count("acl_rules WHERE client_username = ?", "dev1")).toBe(0);
      expect(await count("client_roles WHERE client_username = ?", "dev1")).toBe(0);
      expect(await store.findClientAcl("dev2")).toEqual({ roles: ["r"], rules: [rule("two/1")] });
      expect((await store.findRole("r"))?.assignedClients).toBe(1);
      expect(await store.deleteClient("dev1", audit("delete", "dev1"))).toBe(false);
      expect((await auditActions()).filter((a) => a.startsWith("delete"))).toEqual(["delete dev1"]);
    });

    it("records logins in a batch, only ever moving last_login_at forward", async () => {
      await store.insertClient(newClient("dev1"), audit("create"));
      await store.insertClient(newClient("dev2"), audit("create"));
      await store.recordLogins([]);
      await store.recordLogins([
        { username: "dev1", at: at(2000), peerhost: "10.0.0.2" },
        { username: "dev1", at: at(3000), peerhost: "10.0.0.3" },
        { username: "dev1", at: at(1000), peerhost: "10.0.0.1" },
        { username: "dev2", at: at(500), peerhost: "10.0.1.1" },
        { username: "ghost", at: at(500), peerhost: "10.0.9.9" },
      ]);
      expect(await store.findClient("dev1")).toMatchObject({
        lastLoginAt: at(3000),
        lastLoginPeerhost: "10.0.0.3",
      });
      expect(await store.findClient("dev2")).toMatchObject({
        lastLoginAt: at(500),
        lastLoginPeerhost: "10.0.1.1",
      });
      // An older batch (another replica's, written late) does not move it back.
      await store.recordLogins([
        { username: "dev1", at: at(2500), peerhost: "10.0.0.9" },
        { username: "dev2", at: at(600), peerhost: "10.0.1.2" },
      ]);
      expect(await store.findClient("dev1")).toMatchObject({
        lastLoginAt: at(3000),
        lastLoginPeerhost: "10.0.0.3",
      });
      expect(await store.findClient("dev2")).toMatchObject({
        lastLoginAt: at(600),
        lastLoginPeerhost: "10.0.1.2",
      });
      expect((await store.findClient("dev1"))!.updatedAt).toBe(at(0));
    });
  });

  describe("admin tokens", () => {
    const token = (name: string, sha: string, scope: "read" | "admin" = "admin") => ({
      name,
      tokenSha256: sha,
      scope,
    });

    it("inserts, refuses a duplicate name or value, finds by hash and lists by name", async () => {
      expect(await store.insertToken(token("ops", "aa"), audit("token.create", "ops"))).toBe(true);
      expect(await store.insertToken(token("ops", "bb"), audit("token.create", "ops"))).toBe(false);
      expect(await store.insertToken(token("other", "aa"), audit("token.create", "other"))).toBe(false);
      expect(await store.insertToken(token("ci", "cc", "read"), audit("token.create", "ci"))).toBe(true);
      expect(await store.findTokenBySha256("aa")).toEqual({
        name: "ops",
        tokenSha256: "aa",
        scope: "admin",
        createdAt: now(),
        lastUsedAt: null,
        revokedAt: null,
      });
      expect(await store.findTokenBySha256("zz")).toBeNull();
      expect((await store.listTokens()).map((t) => t.name)).toEqual(["ci", "ops"]);
      expect(await auditActions()).toEqual(["token.create ops", "token.create ci"]);
    });

    it("upserts: unchanged is a no-op, a new value or scope replaces and un-revokes", async () => {
      await store.insertToken(token("ops", "aa"), audit("create"));
      advance(1000);
      await store.touchToken("ops", at(500));
      expect((await store.findTokenBySha256("aa"))!.lastUsedAt).toBe(at(500));
      expect(await store.upsertToken(token("ops", "aa"), audit("upsert", "ops"))).toBe(false);
      expect(await store.revokeToken("ops", audit("revoke", "ops"))).toBe(true);
      expect(await store.revokeToken("ops", audit("revoke", "ops"))).toBe(false);
      expect(await store.countUsableTokens()).toBe(0);
      expect(await store.upsertToken(token("ops", "aa"), audit("upsert", "ops"))).toBe(true);
      expect(await store.findTokenBySha256("aa")).toEqual({
        name: "ops",
        tokenSha256: "aa",
        scope: "admin",
        createdAt: now(),
        lastUsedAt: null,
        revokedAt: null,
      });
      expect(await store.upsertToken(token("ops", "dd", "read"), audit("upsert", "ops"))).toBe(true);
      expect(await store.findTokenBySha256("aa")).toBeNull();
      expect((await store.findTokenBySha256("dd"))?.scope).toBe("read");
      expect(await store.upsertToken(token("new", "ee"), audit("upsert", "new"))).toBe(true);
      expect(await auditActions()).toEqual([
        "create -",
        "revoke ops",
        "upsert ops",
        "upsert ops",
        "upsert new",
      ]);
    });

    it("counts only unrevoked admin tokens", async () => {
      await store.insertToken(token("a", "1"), audit("c"));
      await store.insertToken(token("b", "2"), audit("c"));
      await store.insertToken(token("r", "3", "read"), audit("c"));
      expect(await store.countUsableTokens()).toBe(2);
      await store.revokeToken("a", audit("revoke"));
      expect(await store.countUsableTokens()).toBe(1);
      expect((await store.findTokenBySha256("1"))!.revokedAt).toBe(now());
    });
  });

  describe("audit log", () => {
    it("lists newest first, by target, up to the limit", async () => {
      for (const [i, u] of ["a", "b", "a", "c"].entries()) {
        advance(1000);
        await store.insertClient(newClient(`${u}${i}`), audit("create", u, { i }));
      }
      const all = await store.listAudit({ limit: 10 });
      expect(all.map((r) => r.details)).toEqual([{ i: 3 }, { i: 2 }, { i: 1 }, { i: 0 }]);
      expect(all.map((r) => r.at)).toEqual([at(4000), at(3000), at(2000), at(1000)]);
      expect(all[0]!.id).toBeGreaterThan(all[1]!.id);
      expect((await store.listAudit({ limit: 10, target: "a" })).map((r) => r.details)).toEqual([
        { i: 2 },
        { i: 0 },
      ]);
      expect(await store.listAudit({ limit: 2 })).toEqual(all.slice(0, 2));
      expect(await store.listAudit({ limit: 10, target: "nobody" })).toEqual([]);
      expect(all.find((r) => r.target === "c")?.details).toEqual({ i: 3 });
      await store.insertClient(newClient("x"), audit("no-details", "x"));
      expect((await store.listAudit({ limit: 1 }))[0]!.details).toEqual({});
    });
  });

  describe("roles and client ACLs", () => {
    const qosRules: Rule[] = [
      rule("a/#", { qos: [2, 0, 0] }),
      rule("b/+", { permission: "deny", action: "subscribe", retain: true }),
      rule("eq c/d", { action: "all", retain: false, qos: [1] }),
    ];

    it("inserts a role with its rules (QoS and retain as given), refuses a taken name", async () => {
      expect(
        await store.insertRole(
          { name: "r", description: "desc", isDefault: true, rules: qosRules },
          audit("role.create", "r"),
        ),
      ).toBe(true);
      expect(
        await store.insertRole(
          { name: "r", description: "x", isDefault: false, rules: [] },
          audit("role.create", "r"),
        ),
      ).toBe(false);
      expect(await store.findRole("r")).toEqual({
        name: "r",
        description: "desc",
        isDefault: true,
        createdAt: now(),
        updatedAt: now(),
        rules: [
          rule("a/#", { qos: [0, 2] }),
          rule("b/+", { permission: "deny", action: "subscribe", retain: true }),
          rule("eq c/d", { action: "all", retain: false, qos: [1] }),
        ],
        assignedClients: 0,
      });
      expect(await store.findRole("nope")).toBeNull();
      expect(await auditActions()).toEqual(["role.create r"]);
    });

    it("lists roles by name with their rules and assignment counts", async () => {
      await store.insertRole(
        { name: "zeta", description: "", isDefault: false, rules: [rule("z/1"), rule("z/2")] },
        audit("r"),
      );
      await store.insertRole({ name: "alpha", description: "", isDefault: false, rules: [] }, audit("r"));
      await store.insertClient(newClient("dev1"), audit("c"));
      await store.insertClient(newClient("dev2"), audit("c"));
      await store.replaceClientAcl("dev1", { roles: ["zeta", "alpha"] }, audit("acl"));
      await store.replaceClientAcl("dev2", { roles: ["zeta"] }, audit("acl"));
      const roles = await store.listRoles();
      expect(roles.map((r) => [r.name, r.assignedClients, r.rules.map((x) => x.topic)])).toEqual([
        ["alpha", 1, []],
        ["zeta", 2, ["z/1", "z/2"]],
      ]);
    });

    it("replaces a role whole; an unknown role is false and unaudited", async () => {
      await store.insertRole(
        { name: "r", description: "a", isDefault: false, rules: [rule("1"), rule("2")] },
        audit("c"),
      );
      advance(1000);
      expect(
        await store.replaceRole(
          { name: "r", description: "b", isDefault: true, rules: [rule("3")] },
          audit("replace", "r"),
        ),
      ).toBe(true);
      expect(await store.findRole("r")).toMatchObject({
        description: "b",
        isDefault: true,
        rules: [rule("3")],
        createdAt: at(0),
        updatedAt: now(),
      });
      expect(
        await store.replaceRole(
          { name: "x", description: "", isDefault: false, rules: [] },
          audit("replace", "x"),
        ),
      ).toBe(false);
      expect(await count("acl_rules WHERE role_name = ?", "r")).toBe(1);
      expect((await auditActions()).filter((a) => a.startsWith("replace"))).toEqual(["replace r"]);
    });

    it("deletes an unassigned role with its rules, refuses an assigned one", async () => {
      await store.insertRole(
        { name: "r", description: "", isDefault: false, rules: [rule("1")] },
        audit("c"),
      );
      await store.insertClient(newClient("dev1"), audit("c"));
      await store.replaceClientAcl("dev1", { roles: ["r"] }, audit("acl"));
      expect(await store.deleteRole("r", audit("role.delete", "r"))).toBe("in_use");
      await store.replaceClientAcl("dev1", { roles: [] }, audit("acl"));
      expect(await store.deleteRole("r", audit("role.delete", "r"))).toBe("deleted");
      expect(await store.deleteRole("r", audit("role.delete", "r"))).toBe("not_found");
      expect(await store.findRole("r")).toBeNull();
      expect(await count("acl_rules")).toBe(0);
      expect((await auditActions()).filter((a) => a.startsWith("role.delete"))).toEqual(["role.delete r"]);
    });

    it("replaces what is given of a client's ACL and touches the client", async () => {
      await store.insertRole({ name: "a", description: "", isDefault: false, rules: [] }, audit("c"));
      await store.insertRole({ name: "b", description: "", isDefault: false, rules: [] }, audit("c"));
      await store.insertClient(newClient("dev1"), audit("c"));
      expect(await store.findClientAcl("dev1")).toEqual({ roles: [], rules: [] });
      advance(1000);
      expect(
        await store.replaceClientAcl(
          "dev1",
          { roles: ["b", "a"], rules: qosRules.slice(0, 2) },
          audit("acl", "dev1"),
        ),
      ).toEqual({
        ok: true,
      });
      expect((await store.findClient("dev1"))!.updatedAt).toBe(now());
      expect(await store.replaceClientAcl("dev1", { rules: [rule("only")] }, audit("acl", "dev1"))).toEqual({
        ok: true,
      });
      expect(await store.findClientAcl("dev1")).toEqual({ roles: ["b", "a"], rules: [rule("only")] });
      expect(await store.replaceClientAcl("dev1", { roles: ["a"] }, audit("acl", "dev1"))).toEqual({
        ok: true,
      });
      expect(await store.findClientAcl("dev1")).toEqual({ roles: ["a"], rules: [rule("only")] });
      expect(
        await store.replaceClientAcl("dev1", { roles: ["a", "ghost", "b"] }, audit("acl", "dev1")),
      ).toEqual({
        ok: false,
        reason: "unknown_role",
        role: "ghost",
      });
      expect(await store.findClientAcl("dev1")).toEqual({ roles: ["a"], rules: [rule("only")] });
      expect(await store.replaceClientAcl("ghost", { roles: [] }, audit("acl", "ghost"))).toEqual({
        ok: false,
        reason: "not_found",
      });
      expect(await store.findClientAcl("ghost")).toBeNull();
      expect((await auditActions()).filter((a) => a.startsWith("acl"))).toEqual([
        "acl dev1",
        "acl dev1",
        "acl dev1",
      ]);
    });

    it("evaluates client rules, then assigned roles in order, then default roles by name, each once", async () => {
      await store.insertRole(
        { name: "zulu-default", description: "", isDefault: true, rules: [rule("dz/1")] },
        audit("c"),
      );
      await store.insertRole(
        { name: "beta", description: "", isDefault: false, rules: [rule("b/1"), rule("b/2")] },
        audit("c"),
      );
      await store.insertRole(
        { name: "alpha", description: "", isDefault: false, rules: [rule("a/1")] },
        audit("c"),
      );
      await store.insertRole(
        { name: "mike-default", description: "", isDefault: true, rules: [rule("dm/1")] },
        audit("c"),
      );
      await store.insertRole(
        { name: "Alpha-default", description: "", isDefault: true, rules: [rule("dA/1")] },
        audit("c"),
      );
      await store.insertClient(newClient("dev1"), audit("c"));
      await store.insertClient(newClient("dev2"), audit("c"));
      await store.replaceClientAcl(
        "dev1",
        {
          roles: ["beta", "mike-default", "alpha"],
          rules: [rule("own/1", { qos: [1], retain: false }), rule("own/2")],
        },
        audit("acl"),
      );
      const found = await store.findClientWithRules("dev1");
      expect(found?.client).toEqual(await store.findClient("dev1"));
      expect(found?.rules.map((r) => `${r.source} ${r.topic}`)).toEqual([
        "client own/1",
        "client own/2",
        "role:beta b/1",
        "role:beta b/2",
        "role:mike-default dm/1",
        "role:alpha a/1",
        "default-role:Alpha-default dA/1",
        "default-role:zulu-default dz/1",
      ]);
      expect(found?.rules[0]).toEqual({ ...rule("own/1", { qos: [1], retain: false }), source: "client" });
      expect((await store.findClientWithRules("dev2"))?.rules.map((r) => r.source)).toEqual([
        "default-role:Alpha-default",
        "default-role:mike-default",
        "default-role:zulu-default",
      ]);
      // The admin view says the same.
      const view = await h.db.query<{ eval_order: number; source: string; topic: string }>(
        "SELECT eval_order, source, topic FROM effective_acl WHERE username = ? ORDER BY eval_order",
        "dev1",
      );
      expect(view.map((r) => `${r.source} ${r.topic}`)).toEqual(
        found?.rules.map((r) => `${r.source} ${r.topic}`),
      );
      expect(view.map((r) => Number(r.eval_order))).toEqual(view.map((_, i) => i + 1));
    });

    it("serves rules changed by another process (another replica) on the very next read", async () => {
      await store.insertClient(newClient("dev1"), audit("c"));
      await store.insertRole(
        { name: "r", description: "", isDefault: false, rules: [rule("old/#")] },
        audit("c"),
      );
      await store.replaceClientAcl("dev1", { roles: ["r"] }, audit("c"));
      const topics = async () => (await store.findClientWithRules("dev1"))?.rules.map((r) => r.topic) ?? null;
      expect(await topics()).toEqual(["old/#"]);
      expect(await topics()).toEqual(["old/#"]);
      await h.other.replaceRole(
        { name: "r", description: "", isDefault: false, rules: [rule("new/#")] },
        audit("c"),
      );
      expect(await topics()).toEqual(["new/#"]);
      await h.other.replaceClientAcl("dev1", { roles: [], rules: [rule("mine/#")] }, audit("c"));
      expect(await topics()).toEqual(["mine/#"]);
      await h.other.insertRole(
        { name: "all", description: "", isDefault: true, rules: [rule("all/#")] },
        audit("c"),
      );
      expect(await topics()).toEqual(["mine/#", "all/#"]);
      await h.other.deleteClient("dev1", audit("c"));
      expect(await topics()).toBeNull();
      await h.other.insertClient(newClient("dev1"), audit("c"));
      expect(await topics()).toEqual(["all/#"]);
      await h.other.applyImport(
        {
          clients: [],
          clientRules: new Map([["dev1", [rule("imported/#")]]]),
          conflict: "overwrite",
          missingClient: "fail",
          dryRun: false,
        },
        () => audit("import"),
      );
      expect(await topics()).toEqual(["imported/#", "all/#"]);
    });

    it("keeps the cache when nothing about ACLs changed (rules are read once per generation)", async () => {
      await store.insertClient(newClient("dev1"), audit("c"));
      await store.replaceClientAcl("dev1", { rules: [rule("t/1")] }, audit("c"));
      const first = await store.findClientWithRules("dev1");
      await h.other.updateClient("dev1", { description: "changed" }, audit("u"));
      const second = await store.findClientWithRules("dev1");
      expect(second?.client.description).toBe("changed");
      expect(second?.rules).toBe(first?.rules);
    });
  });

  describe("failed logins and lockouts", () => {
    const lockout = (
      scope: LockoutRecord["scope"],
      username: string,
      peerhost: string,
      untilMs: number,
    ): LockoutRecord => ({
      scope,
      username,
      peerhost,
      failures: 5,
      lockCount: 1,
      lockedAt: at(0),
      lockedUntil: at(untilMs),
    });

    it("upserts lockouts and finds those in force that cover the username and/or source", async () => {
      await store.upsertLockout(lockout("username+peerhost", "dev1", "10.0.0.1", 60_000));
      await store.upsertLockout(lockout("username", "dev1", "", 30_000));
      await store.upsertLockout(lockout("peerhost", "", "10.0.0.9", 60_000));
      await store.upsertLockout(lockout("username", "dev2", "", 1000));
      const found = async (u: string, p: string, t: number) =>
        (await store.findActiveLockouts(u, p, at(t)))
          .map((l) => `${l.scope} ${l.username} ${l.peerhost}`)
          .sort();
      expect(await found("dev1", "10.0.0.1", 10)).toEqual([
        "username dev1 ",
        "username+peerhost dev1 10.0.0.1",
      ]);
      expect(await found("dev1", "10.0.0.2", 10)).toEqual(["username dev1 "]);
      expect(await found("dev1", "10.0.0.1", 40_000)).toEqual(["username+peerhost dev1 10.0.0.1"]);
      expect(await found("other", "10.0.0.9", 10)).toEqual(["peerhost  10.0.0.9"]);
      expect(await found("dev2", "10.0.0.5", 1000)).toEqual([]);
      expect(await found("dev1\0", "10.0.0.9", 10)).toEqual(["peerhost  10.0.0.9"]);

      const next = { ...lockout("username", "dev1", "", 90_000), failures: 9, lockCount: 2, lockedAt: at(5) };
      await store.upsertLockout(next);
      expect(await store.findActiveLockouts("dev1", "x", at(60_000))).toEqual([next]);
    });

    it("lists lockouts by filter, newest expiry first, and clears them with one audit row", async () => {
      await store.upsertLockout(lockout("username+peerhost", "dev1", "10.0.0.1", 60_000));
      await store.upsertLockout(lockout("username", "dev1", "", 30_000));
      await store.upsertLockout(lockout("peerhost", "", "10.0.0.1", 90_000));
      await store.upsertLockout(lockout("username", "dev2", "", 1000));
      const keys = (ls: LockoutRecord[]) => ls.map((l) => `${l.scope}/${l.username}/${l.peerhost}`);
      expect(keys(await store.listLockouts({}))).toEqual([
        "peerhost//10.0.0.1",
        "username+peerhost/dev1/10.0.0.1",
        "username/dev1/",
        "username/dev2/",
      ]);
      expect(keys(await store.listLockouts({ activeAt: at(45_000) }))).toEqual([
        "peerhost//10.0.0.1",
        "username+peerhost/dev1/10.0.0.1",
      ]);
      expect(keys(await store.listLockouts({ username: "dev1" }))).toEqual([
        "username+peerhost/dev1/10.0.0.1",
        "username/dev1/",
      ]);
      expect(keys(await store.listLockouts({ peerhost: "10.0.0.1", username: "dev1" }))).toEqual([
        "username+peerhost/dev1/10.0.0.1",
      ]);
      expect(await store.clearLockouts({}, audit("clear"))).toBe(0);
      expect(await store.clearLockouts({ username: "nobody" }, audit("clear", "nobody"))).toBe(0);
      expect(await store.clearLockouts({ username: "dev1" }, audit("clear", "dev1"))).toBe(2);
      expect(await store.clearLockouts({ peerhost: "10.0.0.1" }, audit("clear", "10.0.0.1"))).toBe(1);
      expect(keys(await store.listLockouts({}))).toEqual(["username/dev2/"]);
      expect(await auditActions()).toEqual(["clear dev1", "clear 10.0.0.1"]);
    });

    it("records failures in a batch, lists newest first and prunes by age with the audit log", async () => {
      await store.recordFailures([]);
      await store.recordFailures([
        { at: at(1000), username: "dev1", peerhost: "10.0.0.1", clientid: "c1", reason: "bad_password" },
        { at: at(2000), username: "ghost", peerhost: "10.0.0.2", clientid: "c2", reason: "unknown_user" },
      ]);
      await store.recordFailures([
        { at: at(3000), username: "dev1", peerhost: "10.0.0.1", clientid: "c1", reason: "locked_out" },
      ]);
      expect(await store.listFailures({ limit: 10 })).toEqual([
        { at: at(3000), username: "dev1", peerhost: "10.0.0.1", clientid: "c1", reason: "locked_out" },
        { at: at(2000), username: "ghost", peerhost: "10.0.0.2", clientid: "c2", reason: "unknown_user" },
        { at: at(1000), username: "dev1", peerhost: "10.0.0.1", clientid: "c1", reason: "bad_password" },
      ]);
      expect((await store.listFailures({ limit: 10, username: "dev1" })).map((f) => f.reason)).toEqual([
        "locked_out",
        "bad_password",
      ]);
      expect(await store.listFailures({ limit: 1 })).toHaveLength(1);

      await store.insertClient(newClient("a"), audit("old")); // at 0
      advance(5000);
      await store.insertClient(newClient("b"), audit("new")); // at 5000
      expect(await store.prune({ failures: at(2500), audit: at(1000) })).toEqual({ failures: 2, audit: 1 });
      expect((await store.listFailures({ limit: 10 })).map((f) => f.at)).toEqual([at(3000)]);
      expect(await auditActions()).toEqual(["new -"]);
      expect(await store.prune({ failures: at(2500), audit: at(1000) })).toEqual({ failures: 0, audit: 0 });
    });
  });

  describe("imports", () => {
    const plan = (p: Partial<ImportPlan>): ImportPlan => ({
      clients: [],
      conflict: "skip",
      missingClient: "fail",
      dryRun: false,
      ...p,
    });
    const importAudit = (o: { created: string[]; updated: string[] }) =>
      audit("import", null, { created: o.created.length, updated: o.updated.length });

    it("creates, then finds unchanged, then skips or overwrites what differs", async () => {
      const first = await store.applyImport(
        plan({
          clients: [
            { username: "m1", password: pw("$7$a", "imported"), isSuperuser: true },
            { username: "m2", password: pw("$7$b", "imported") },
          ],
          roles: [{ name: "r", description: "d", isDefault: false, rules: [rule("r/#", { qos: [1, 0] })] }],
          clientRules: new Map([["m1", [rule("m1/#")]]]),
        }),
        importAudit,
      );
      expect(first).toEqual({
        created: ["m1", "m2", "role:r", "m1"],
        updated: [],
        unchanged: [],
        skipped: [],
        missingClients: [],
        written: true,
      });
      expect(await store.findClient("m1")).toMatchObject({
        passwordHash: "$7$a",
        isSuperuser: true,
        passwordOrigin: "imported",
      });
      expect((await store.findClient("m2"))!.isSuperuser).toBe(false);
      expect((await store.findRole("r"))!.rules).toEqual([rule("r/#", { qos: [0, 1] })]);
      expect((await store.findClientAcl("m1"))!.rules).toEqual([rule("m1/#")]);
      expect(await store.listAudit({ limit: 10 })).toMatchObject([
        { action: "import", details: { created: 4, updated: 0 } },
      ]);

      advance(1000);
      const again = await store.applyImport(
        plan({
          clients: [
            { username: "m1", password: pw("$7$a", "imported") },
            { username: "m2", password: pw("$7$changed", "imported") },
          ],
          roles: [{ name: "r", description: "d", isDefault: false, rules: [rule("r/#", { qos: [0, 1] })] }],
          clientRules: new Map([["m1", [rule("other/#")]]]),
        }),
        importAudit,
      );
      expect(again).toEqual({
        created: [],
        updated: [],
        unchanged: ["m1", "role:r"],
        skipped: ["m2", "m1"],
        missingClients: [],
        written: true,
      });
      expect((await store.listAudit({ limit: 10 })).length).toBe(1);

      const overwrite = await store.applyImport(
        plan({
          conflict: "overwrite",
          clients: [{ username: "m2", password: pw("$7$changed", "imported"), isSuperuser: true }],
          roles: [{ name: "r", description: "new", isDefault: true, rules: [] }],
          clientRules: new Map([["m1", [rule("other/#")]]]),
        }),
        importAudit,
      );
      expect(overwrite).toMatchObject({ updated: ["m2", "role:r", "m1"], written: true });
      expect(await store.findClient("m2")).toMatchObject({
        passwordHash: "$7$changed",
        isSuperuser: true,
        passwordChangedAt: now(),
        updatedAt: now(),
      });
      expect(await store.findRole("r")).toMatchObject({ description: "new", isDefault: true, rules: [] });
      expect((await store.findClientAcl("m1"))!.rules).toEqual([rule("other/#")]);
      expect((await store.findClient("m1"))!.updatedAt).toBe(now());

      // Same hash, other superuser flag: updated, but the password did not change.
      advance(1000);
      await store.applyImport(
        plan({
          conflict: "overwrite",
          clients: [{ username: "m2", password: pw("$7$changed", "imported"), isSuperuser: false }],
        }),
        importAudit,
      );
      expect(await store.findClient("m2")).toMatchObject({
        isSuperuser: false,
        passwordChangedAt: at(1000),
        updatedAt: now(),
      });
      expect((await store.listAudit({ limit: 10 })).length).toBe(3);
    });

    it("computes a dry run's outcome and writes nothing", async () => {
      await store.insertClient(newClient("dev1"), audit("c"));
      const before = await h.db.snapshot();
      const outcome = await store.applyImport(
        plan({
          dryRun: true,
          clients: [{ username: "n1", password: pw("$7$n", "imported") }],
          roles: [{ name: "r", description: "", isDefault: true, rules: [rule("x")] }],
          clientRules: new Map([
            ["dev1", [rule("d/#")]],
            ["n1", [rule("n/#")]],
          ]),
        }),
        importAudit,
      );
      expect(outcome).toEqual({
        created: ["n1", "role:r", "dev1", "n1"],
        updated: [],
        unchanged: [],
        skipped: [],
        missingClients: [],
        written: false,
      });
      expect(await h.db.snapshot()).toBe(before);
      expect(await store.findClient("n1")).toBeNull();
    });

    it("rolls everything back when a rule list names a missing client (fail), or skips it (skip)", async () => {
      const before = await h.db.snapshot();
      const p = plan({
        clients: [{ username: "n1", password: pw("$7$n", "imported") }],
        clientRules: new Map([
          ["n1", [rule("n/#")]],
          ["ghost", [rule("g/#")]],
        ]),
      });
      expect(await store.applyImport(p, importAudit)).toEqual({
        created: ["n1", "n1"],
        updated: [],
        unchanged: [],
        skipped: [],
        missingClients: ["ghost"],
        written: false,
      });
      expect(await h.db.snapshot()).toBe(before);
      expect(await store.applyImport({ ...p, missingClient: "skip" }, importAudit)).toMatchObject({
        created: ["n1", "n1"],
        missingClients: ["ghost"],
        written: true,
      });
      expect((await store.findClientAcl("n1"))!.rules).toEqual([rule("n/#")]);
      expect(await auditActions()).toEqual(["import -"]);
    });

    it("writes no audit row for an import that changed nothing", async () => {
      const outcome = await store.applyImport(plan({ clients: [] }), importAudit);
      expect(outcome.written).toBe(true);
      expect(await h.db.auditRows()).toEqual([]);
    });
  });

  it("answers a ping", async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
