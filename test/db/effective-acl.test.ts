import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Rule } from "../../src/acl/types.js";
import { createTestContext, dbTarget, type TestContext } from "../helpers/context.js";
import { withReadonlyDb } from "../helpers/db.js";

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(() => ctx.close());

const ACTOR = "test";

/** One publish rule whose topic names where it came from, so the order is readable in a failure. */
const rule = (topic: string): Rule => ({ permission: "allow", action: "publish", topic });

async function role(name: string, topics: string[], isDefault = false): Promise<void> {
  await ctx.services.acl.createRole(
    name,
    { description: "", default: isDefault, rules: topics.map(rule) },
    ACTOR,
  );
}

async function client(username: string, acl: { roles?: string[]; rules?: Rule[] } = {}): Promise<void> {
  await ctx.services.clients.create({ username }, ACTOR);
  if (acl.roles !== undefined || acl.rules !== undefined) {
    await ctx.services.acl.replaceClientAcl(username, acl, ACTOR);
  }
}

/** The view as an admin reads it with sqlite3: `source topic` per row, in eval_order. */
function effectiveAcl(username: string): string[] {
  return withReadonlyDb(dbTarget(ctx.config), (db) => {
    const rows = db
      .prepare("SELECT eval_order, source, topic FROM effective_acl WHERE username = ? ORDER BY eval_order")
      .all(username) as { eval_order: number; source: string; topic: string }[];
    expect(rows.map((r) => r.eval_order)).toEqual(rows.map((_, i) => i + 1));
    return rows.map((r) => `${r.source} ${r.topic}`);
  });
}

describe("effective_acl view", () => {
  beforeEach(async () => {
    // Created out of name order, so an order by creation or by rowid would show.
    await role("zulu-default", ["dz/1"], true);
    await role("beta", ["b/1", "b/2", "b/3"]);
    await role("alpha", ["a/1"]);
    await role("mike-default", ["dm/1", "dm/2"], true);
    await role("alpha-default", ["da/1"], true);
  });

  it("orders client rules, then assigned roles by position, then default roles by name", async () => {
    await client("dev1", { roles: ["beta", "alpha"], rules: [rule("own/1"), rule("own/2")] });
    expect(effectiveAcl("dev1")).toEqual([
      "client own/1",
      "client own/2",
      "role:beta b/1",
      "role:beta b/2",
      "role:beta b/3",
      "role:alpha a/1",
      "default-role:alpha-default da/1",
      "default-role:mike-default dm/1",
      "default-role:mike-default dm/2",
      "default-role:zulu-default dz/1",
    ]);
  });

  it("lists a default role that is also assigned once, at its assigned position", async () => {
    await client("dev1", { roles: ["mike-default", "alpha"] });
    expect(effectiveAcl("dev1")).toEqual([
      "role:mike-default dm/1",
      "role:mike-default dm/2",
      "role:alpha a/1",
      "default-role:alpha-default da/1",
      "default-role:zulu-default dz/1",
    ]);
  });

  it("follows a reassignment: the new role order is the evaluation order", async () => {
    await client("dev1", { roles: ["beta", "alpha"] });
    await ctx.services.acl.replaceClientAcl("dev1", { roles: ["alpha", "beta"] }, ACTOR);
    expect(effectiveAcl("dev1").slice(0, 4)).toEqual([
      "role:alpha a/1",
      "role:beta b/1",
      "role:beta b/2",
      "role:beta b/3",
    ]);
  });

  it("gives a client with nothing assigned the default roles only, and keeps clients apart", async () => {
    await client("dev1", { roles: ["beta"], rules: [rule("own/1")] });
    await client("dev2");
    expect(effectiveAcl("dev2")).toEqual([
      "default-role:alpha-default da/1",
      "default-role:mike-default dm/1",
      "default-role:mike-default dm/2",
      "default-role:zulu-default dz/1",
    ]);
    expect(effectiveAcl("dev1")).toHaveLength(1 + 3 + 4);
  });

  it("is what the store evaluates: findClientWithRules returns the same rules in the same order", async () => {
    await client("dev1", { roles: ["alpha", "zulu-default"], rules: [rule("own/1")] });
    const found = await ctx.services.store.findClientWithRules("dev1");
    expect(found?.rules.map((r) => `${r.source} ${r.topic}`)).toEqual(effectiveAcl("dev1"));
  });

  it("shows a role's rules in their stored order after the role's rules are replaced", async () => {
    await client("dev1", { roles: ["beta"] });
    await ctx.services.acl.replaceRole(
      "beta",
      { description: "", default: false, rules: [rule("b/3"), rule("b/1")] },
      ACTOR,
    );
    expect(effectiveAcl("dev1").slice(0, 2)).toEqual(["role:beta b/3", "role:beta b/1"]);
  });
});
