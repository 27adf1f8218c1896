// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${username}" and "${clientid}" are the placeholder syntax under test.
import { describe, expect, it } from "vitest";
import { evaluate, ruleMatches } from "../../src/acl/evaluate.js";
import type { AclRequest, Rule } from "../../src/acl/types.js";

function request(overrides: Partial<AclRequest> = {}): AclRequest {
  return {
    username: "alice",
    clientid: "dev-1",
    topic: "a/b",
    action: "publish",
    qos: 0,
    retain: false,
    ...overrides,
  };
}

function rule(overrides: Partial<Rule> = {}): Rule {
  return { permission: "allow", action: "all", topic: "#", ...overrides };
}

describe("ruleMatches", () => {
  it.each<[string, Partial<Rule>, Partial<AclRequest>, boolean]>([
    // Action.
    ["publish rule, publish", { action: "publish" }, { action: "publish" }, true],
    ["publish rule, subscribe", { action: "publish" }, { action: "subscribe" }, false],
    ["subscribe rule, subscribe", { action: "subscribe" }, { action: "subscribe" }, true],
    ["subscribe rule, publish", { action: "subscribe" }, { action: "publish" }, false],
    ["all rule, publish", { action: "all" }, { action: "publish" }, true],
    ["all rule, subscribe", { action: "all" }, { action: "subscribe" }, true],
    // QoS.
    ["any QoS", {}, { qos: 2 }, true],
    ["QoS in the set", { qos: [0, 1] }, { qos: 1 }, true],
    ["QoS not in the set", { qos: [0, 1] }, { qos: 2 }, false],
    ["QoS 2 only, asked 2", { qos: [2] }, { qos: 2 }, true],
    ["QoS 2 only, asked 0", { qos: [2] }, { qos: 0 }, false],
    ["empty QoS set", { qos: [] }, { qos: 0 }, false],
    ["QoS set on subscribe", { qos: [0] }, { action: "subscribe", topic: "a/+", qos: 1 }, false],
    ["QoS outside 0..2 never matches", { qos: [3] }, { qos: 0 }, false],
    // Retain: a publish condition only.
    ["retain either way, retained", {}, { retain: true }, true],
    ["retain true, retained", { retain: true }, { retain: true }, true],
    ["retain true, not retained", { retain: true }, { retain: false }, false],
    ["retain false, retained", { retain: false }, { retain: true }, false],
    ["retain false, not retained", { retain: false }, { retain: false }, true],
    ["retain true on an all rule, subscribe", { retain: true }, { action: "subscribe", retain: false }, true],
    [
      "retain false on an all rule, subscribe",
      { retain: false },
      { action: "subscribe", retain: true },
      true,
    ],
    // Publish: the topic name is matched against the filter.
    ["publish under a/#", { topic: "a/#" }, { topic: "a/b/c" }, true],
    ["publish to the parent of a/#", { topic: "a/#" }, { topic: "a" }, true],
    ["publish under a/+", { topic: "a/+" }, { topic: "a/b" }, true],
    ["publish below a/+", { topic: "a/+" }, { topic: "a/b/c" }, false],
    ["publish elsewhere", { topic: "a/b" }, { topic: "a/c" }, false],
    ["publish to $SYS under #", { topic: "#" }, { topic: "$SYS/x" }, false],
    ["publish to $SYS under $SYS/#", { topic: "$SYS/#" }, { topic: "$SYS/x" }, true],
    // Subscribe: the requested filter must be covered.
    ["subscribe a/+ under a/#", { topic: "a/#" }, { action: "subscribe", topic: "a/+" }, true],
    ["subscribe a/# under a/+", { topic: "a/+" }, { action: "subscribe", topic: "a/#" }, false],
    ["subscribe # under a/#", { topic: "a/#" }, { action: "subscribe", topic: "#" }, false],
    ["subscribe $SYS/# under #", { topic: "#" }, { action: "subscribe", topic: "$SYS/#" }, false],
    ["subscribe +/x under #", { topic: "#" }, { action: "subscribe", topic: "+/x" }, true],
    // "eq ": the exact string, wildcards included.
    ["eq, same name", { topic: "eq a/b" }, { topic: "a/b" }, true],
    ["eq, longer name", { topic: "eq a/b" }, { topic: "a/b/c" }, false],
    ["eq wildcard, publish", { topic: "eq a/#" }, { topic: "a/b" }, false],
    ["eq wildcard, same filter", { topic: "eq a/+" }, { action: "subscribe", topic: "a/+" }, true],
    ["eq wildcard, narrower filter", { topic: "eq a/+" }, { action: "subscribe", topic: "a/b" }, false],
    ["eq #, subscribe #", { topic: "eq #" }, { action: "subscribe", topic: "#" }, true],
    ["eq #, subscribe a/#", { topic: "eq #" }, { action: "subscribe", topic: "a/#" }, false],
    // Placeholders.
    ["own username", { topic: "users/${username}/#" }, { topic: "users/alice/x" }, true],
    ["other username", { topic: "users/${username}/#" }, { topic: "users/bob/x" }, false],
    ["own client ID, eq", { topic: "eq devices/${clientid}" }, { topic: "devices/dev-1" }, true],
    [
      "own client ID, subscribe",
      { topic: "d/${clientid}/#" },
      { action: "subscribe", topic: "d/dev-1/+" },
      true,
    ],
    ["unknown placeholder", { topic: "a/${peerhost}" }, { topic: "a/${peerhost}" }, false],
    ["placeholder inside a level", { topic: "a/x${clientid}" }, { topic: "a/xdev-1" }, false],
    ["stored topic that is not a valid filter", { topic: "a/#/b" }, { topic: "a/x/b" }, false],
  ])("%s → %s", (_name, ruleFields, requestFields, expected) => {
    expect(ruleMatches(rule(ruleFields), request(requestFields))).toBe(expected);
  });

  // Identities that try to widen a placeholder rule to someone else's topics.
  it.each<[string, string, string, Partial<AclRequest>]>([
    ["username '+'", "users/${username}/#", "+", { topic: "users/+/x" }],
    ["username '+', subscribing", "users/${username}/#", "+", { action: "subscribe", topic: "users/+/#" }],
    ["username '#'", "users/${username}", "#", { action: "subscribe", topic: "users/#" }],
    ["username 'a/b'", "users/${username}/x", "a/b", { topic: "users/a/b/x" }],
    ["empty username", "users/${username}/x", "", { topic: "users//x" }],
    ["username 'x${clientid}'", "users/${username}", "x${clientid}", { topic: "users/x${clientid}" }],
    ["username '$SYS' as first level", "${username}/#", "$SYS", { topic: "$SYS/x" }],
  ])("never matches for %s", (_name, topic, username, requestFields) => {
    expect(ruleMatches(rule({ topic }), request({ username, ...requestFields }))).toBe(false);
  });

  it.each<[string, string, Partial<AclRequest>]>([
    ["client ID '+'", "+", { topic: "d/+" }],
    ["client ID '#'", "#", { action: "subscribe", topic: "d/#" }],
    ["client ID 'a/b'", "a/b", { topic: "d/a/b" }],
    ["empty client ID", "", { topic: "d/" }],
    ["client ID '${username}'", "${username}", { topic: "d/${username}" }],
  ])("never matches for %s", (_name, clientid, requestFields) => {
    expect(ruleMatches(rule({ topic: "d/${clientid}" }), request({ clientid, ...requestFields }))).toBe(
      false,
    );
  });
});

describe("evaluate", () => {
  const secretFirst: Rule[] = [
    rule({ permission: "deny", topic: "a/secret" }),
    rule({ permission: "allow", action: "publish", topic: "a/#" }),
    rule({ permission: "allow", action: "subscribe", topic: "users/${username}/#", qos: [0, 1] }),
  ];

  it.each<[string, Partial<AclRequest>, "allow" | "deny", number | null]>([
    ["the first matching rule decides", { topic: "a/secret" }, "deny", 0],
    ["a later rule decides when earlier ones do not match", { topic: "a/public" }, "allow", 1],
    ["subscribe under the own username", { action: "subscribe", topic: "users/alice/+" }, "allow", 2],
    ["a QoS the rule excludes", { action: "subscribe", topic: "users/alice/+", qos: 2 }, "deny", null],
    ["another user's tree", { action: "subscribe", topic: "users/bob/#" }, "deny", null],
    ["no rule for the topic", { topic: "b" }, "deny", null],
    ["no rule for the action", { action: "subscribe", topic: "a/public" }, "deny", null],
  ])("%s", (_name, requestFields, result, ruleIndex) => {
    const decision = evaluate(secretFirst, request(requestFields), "deny");
    expect(decision).toEqual({
      result,
      ruleIndex,
      rule: ruleIndex === null ? null : secretFirst[ruleIndex],
    });
  });

  it("returns the deciding rule itself", () => {
    expect(evaluate(secretFirst, request({ topic: "a/secret" }), "allow").rule).toBe(secretFirst[0]);
  });

  it("order matters: a broad allow before a narrow deny wins", () => {
    const rules = [rule({ topic: "a/#" }), rule({ permission: "deny", topic: "a/secret" })];
    expect(evaluate(rules, request({ topic: "a/secret" }), "deny")).toMatchObject({
      result: "allow",
      ruleIndex: 0,
    });
  });

  it.each(["allow", "deny"] as const)("applies the default %s when nothing matches", (defaultResult) => {
    expect(evaluate([], request(), defaultResult)).toEqual({
      result: defaultResult,
      rule: null,
      ruleIndex: null,
    });
    expect(evaluate(secretFirst, request({ topic: "zzz" }), defaultResult)).toEqual({
      result: defaultResult,
      rule: null,
      ruleIndex: null,
    });
  });

  // A placeholder rule that cannot expand for this client is skipped, deny rules included;
  // the rules after it decide, exactly as in the rendering for EMQX.
  it("skips a deny rule whose placeholder cannot expand", () => {
    const rules = [rule({ permission: "deny", topic: "${clientid}/#" }), rule({ topic: "x/#" })];
    expect(evaluate(rules, request({ clientid: "+", topic: "x/y" }), "deny")).toMatchObject({
      result: "allow",
      ruleIndex: 1,
    });
    expect(evaluate(rules, request({ clientid: "x", topic: "x/y" }), "allow")).toMatchObject({
      result: "deny",
      ruleIndex: 0,
    });
  });

  // As in EMQX: overlapping is not enough, the subscription must fall inside the deny rule.
  it("a deny rule stops only the subscriptions it covers entirely", () => {
    const rules = [rule({ permission: "deny", topic: "a/secret" }), rule({ topic: "#" })];
    expect(evaluate(rules, request({ action: "subscribe", topic: "a/secret" }), "deny").result).toBe("deny");
    expect(evaluate(rules, request({ action: "subscribe", topic: "a/+" }), "deny").result).toBe("allow");
  });
});
