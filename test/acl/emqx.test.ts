// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${username}" and "${clientid}" are the placeholder syntax under test.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toEmqxAcl } from "../../src/acl/emqx.js";
import { evaluate } from "../../src/acl/evaluate.js";
import { validateTopicFilter, validateTopicName } from "../../src/acl/topic.js";
import type { AclRequest, Rule } from "../../src/acl/types.js";

const alice = { username: "alice", clientid: "dev-1" };

describe("toEmqxAcl", () => {
  it("renders rules in order with placeholders expanded", () => {
    const rules: Rule[] = [
      { permission: "deny", action: "all", topic: "$SYS/#" },
      { permission: "allow", action: "publish", topic: "devices/${clientid}/up", qos: [0, 1], retain: false },
      { permission: "allow", action: "subscribe", topic: "users/${username}/#", qos: [2] },
      { permission: "allow", action: "all", topic: "eq shared/${username}/+", retain: true },
    ];
    expect(toEmqxAcl(rules, alice)).toEqual([
      { permission: "deny", action: "all", topic: "$SYS/#" },
      { permission: "allow", action: "publish", topic: "devices/dev-1/up", qos: [0, 1], retain: false },
      { permission: "allow", action: "subscribe", topic: "users/alice/#", qos: [2] },
      { permission: "allow", action: "all", topic: "eq shared/alice/+", retain: true },
    ]);
  });

  it("omits qos and retain when the rule has none, so EMQX applies its 'any'", () => {
    const [out] = toEmqxAcl([{ permission: "allow", action: "all", topic: "a" }], alice);
    expect(out).toEqual({ permission: "allow", action: "all", topic: "a" });
    expect(out).not.toHaveProperty("qos");
    expect(out).not.toHaveProperty("retain");
  });

  it("leaves retain out of subscribe rules, where EMQX ignores it", () => {
    expect(toEmqxAcl([{ permission: "deny", action: "subscribe", topic: "a", retain: true }], alice)).toEqual(
      [{ permission: "deny", action: "subscribe", topic: "a" }],
    );
  });

  it.each<[string, Rule]>([
    ["an unsafe username", { permission: "deny", action: "all", topic: "users/${username}/#" }],
    ["an unknown placeholder", { permission: "allow", action: "all", topic: "a/${peerhost}" }],
    ["an invalid stored topic", { permission: "deny", action: "all", topic: "a/#/b" }],
    ["an empty QoS set", { permission: "deny", action: "all", topic: "a", qos: [] }],
    ["no valid QoS level", { permission: "deny", action: "all", topic: "a", qos: [3, -1, 1.5] }],
  ])("drops a rule with %s and keeps the rest in order", (_name, dropped) => {
    const first: Rule = { permission: "allow", action: "publish", topic: "first" };
    const last: Rule = { permission: "deny", action: "all", topic: "#" };
    const ids = { username: "a/b", clientid: "dev-1" };
    expect(toEmqxAcl([first, dropped, last], ids)).toEqual([first, last]);
  });

  it("keeps only the QoS levels EMQX accepts", () => {
    expect(toEmqxAcl([{ permission: "allow", action: "all", topic: "a", qos: [3, 1, 0] }], alice)).toEqual([
      { permission: "allow", action: "all", topic: "a", qos: [1, 0] },
    ]);
  });

  it.each([
    ["a/b", "+"],
    ["#", "${username}"],
    ["", "x${clientid}"],
    ["a+b", "a\u0000"],
    ["${clientid}", "${clientid}"],
  ])("renders nothing EMQX could widen for username %j and client ID %j", (username, clientid) => {
    const rules: Rule[] = [
      { permission: "allow", action: "all", topic: "${username}/#" },
      { permission: "allow", action: "all", topic: "u/${username}" },
      { permission: "allow", action: "all", topic: "eq c/${clientid}/+" },
      { permission: "allow", action: "all", topic: "${clientid}" },
    ];
    expect(toEmqxAcl(rules, { username, clientid })).toEqual([]);
  });
});

describe("toEmqxAcl agrees with evaluate", () => {
  // Weighted towards shared values, so that many requests are decided by a rule, not the default.
  const often = <T>(common: fc.Arbitrary<T>, rare: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: common, weight: 2 }, { arbitrary: rare, weight: 1 });
  const ruleLevel = often(
    fc.constantFrom("a", "+", "${username}", "${clientid}"),
    fc.constantFrom("b", "$x", "", "x${clientid}", "${nope}"),
  );
  const ruleArb: fc.Arbitrary<Rule> = fc.record(
    {
      permission: fc.constantFrom("allow" as const, "deny" as const),
      action: fc.constantFrom("publish" as const, "subscribe" as const, "all" as const),
      topic: fc
        .tuple(fc.boolean(), fc.array(ruleLevel, { minLength: 1, maxLength: 2 }), fc.boolean())
        .map(
          ([exact, levels, multi]) => (exact ? "eq " : "") + [...levels, ...(multi ? ["#"] : [])].join("/"),
        ),
      qos: fc.subarray([0, 1, 2, 3]),
      retain: fc.boolean(),
    },
    { requiredKeys: ["permission", "action", "topic"] },
  );
  const idValue = often(fc.constant("a"), fc.constantFrom("b", "$x", "", "+", "#", "a/b", "${clientid}"));
  const requestLevel = often(fc.constant("a"), fc.constantFrom("b", "$x", "", "+", "#"));
  const requestArb: fc.Arbitrary<AclRequest> = fc.record({
    username: idValue,
    clientid: idValue,
    action: fc.constantFrom("publish" as const, "subscribe" as const),
    topic: fc.array(requestLevel, { minLength: 1, maxLength: 3 }).map((levels) => levels.join("/")),
    qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
    retain: fc.boolean(),
  });

  it("emits only valid topics without placeholders, and the same decisions as the stored rules", () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 6 }), requestArb, (rules, req) => {
        const validate = req.action === "publish" ? validateTopicName : validateTopicFilter;
        fc.pre(validate(req.topic).ok);
        const acl = toEmqxAcl(rules, req);
        for (const out of acl) {
          expect(out.topic).not.toContain("${");
          expect(validateTopicFilter(out.topic.replace(/^eq /, "")).ok).toBe(true);
        }
        // The rendered rules no longer depend on who asks.
        const stranger = { ...req, username: "zz", clientid: "zz" };
        expect(evaluate(acl, stranger, "deny").result).toBe(evaluate(rules, req, "deny").result);
        expect(evaluate(acl, stranger, "allow").result).toBe(evaluate(rules, req, "allow").result);
      }),
      { numRuns: 3000 },
    );
  });
});
