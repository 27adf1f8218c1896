// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${username}" and "${clientid}" are the placeholder syntax under test.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate, resolveRules } from "../../src/acl/evaluate.js";
import type { AclRequest, Rule } from "../../src/acl/types.js";

/**
 * The authorizer keeps each client's rule topics resolved between requests (`resolveRules`), and
 * matches a wildcard-free filter by string equality: both must decide exactly as `evaluate` alone.
 */

const LEVELS = ["a", "b", "$x", "", "+", "#", "${username}", "${clientid}"];
const ruleTopic = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom(...LEVELS), { minLength: 1, maxLength: 4 }))
  .map(([exact, levels]) => (exact ? "eq " : "") + levels.join("/"));
const rule: fc.Arbitrary<Rule> = fc.record(
  {
    permission: fc.constantFrom("allow", "deny"),
    action: fc.constantFrom("publish", "subscribe", "all"),
    topic: ruleTopic,
    qos: fc.subarray([0, 1, 2], { minLength: 1 }),
    retain: fc.boolean(),
  },
  { requiredKeys: ["permission", "action", "topic"] },
);
const id = fc.constantFrom("a", "b", "$x", "u+", "c/d", "");
const req: fc.Arbitrary<AclRequest> = fc.record({
  username: id,
  clientid: id,
  topic: fc
    .array(fc.constantFrom("a", "b", "$x", "", "+", "#", "u+"), { minLength: 1, maxLength: 4 })
    .map((l) => l.join("/"))
    .filter((t) => t !== ""),
  action: fc.constantFrom("publish", "subscribe"),
  qos: fc.constantFrom(0, 1, 2),
  retain: fc.boolean(),
});

describe("evaluate with resolved rules", () => {
  it("decides as evaluate without them, for any rules and request", () => {
    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 6 }),
        req,
        fc.constantFrom("allow", "deny"),
        (rules, r, dflt) => {
          const resolved = resolveRules(rules, r);
          expect(evaluate(rules, r, dflt, resolved)).toEqual(evaluate(rules, r, dflt));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
