// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${username}" and "${clientid}" are the placeholder syntax under test.
import { describe, expect, it } from "vitest";
import { evaluate } from "../../../src/acl/evaluate.js";
import type { AclRequest, Rule } from "../../../src/acl/types.js";
import {
  type MosquittoRules,
  mosquittoAclToRules,
  parseMosquittoAcl,
} from "../../../src/import/parse/index.js";

function convert(text: string): MosquittoRules {
  const parsed = parseMosquittoAcl(text);
  expect(parsed.errors).toEqual([]);
  return mosquittoAclToRules(parsed.entries);
}

/** Our evaluation the way the notes ask for it: own rules, then patterns, deny when nothing matches. */
function decide(
  rules: MosquittoRules,
  username: string,
  clientid: string,
  action: AclRequest["action"],
  topic: string,
) {
  const own = username === "" ? rules.anonymous : (rules.perUser.get(username) ?? []);
  const req: AclRequest = { username, clientid, action, topic, qos: 0, retain: false };
  return evaluate([...own, ...rules.patterns], req, "deny").result;
}

// mosquitto-go-auth's test-files/acls, whose expectations mirror mosquitto's acl_file semantics.
const GO_AUTH_ACLS = `topic test/general
topic deny test/general_denied

user test1
topic write test/topic/1
topic read test/topic/2

user test3
topic read test/#
topic deny test/denied

pattern read test/%u
pattern read test/%c
`;

describe("mosquittoAclToRules", () => {
  it("maps access words onto permission and action, in mosquitto's order", () => {
    const rules = convert(GO_AUTH_ACLS);
    expect(rules.anonymous).toEqual<Rule[]>([
      { permission: "deny", action: "all", topic: "test/general_denied" },
      { permission: "allow", action: "all", topic: "test/general" },
    ]);
    expect(rules.perUser.get("test1")).toEqual<Rule[]>([
      { permission: "allow", action: "publish", topic: "test/topic/1" },
      { permission: "allow", action: "subscribe", topic: "test/topic/2" },
    ]);
    expect(rules.perUser.get("test3")).toEqual<Rule[]>([
      { permission: "deny", action: "all", topic: "test/denied" },
      { permission: "allow", action: "subscribe", topic: "test/#" },
    ]);
    expect(rules.patterns).toEqual<Rule[]>([
      { permission: "allow", action: "subscribe", topic: "test/${username}" },
      { permission: "allow", action: "subscribe", topic: "test/${clientid}" },
    ]);
    expect(rules.errors).toEqual([]);
  });

  it("gives the decisions mosquitto gives, when evaluated as the notes say", () => {
    const rules = convert(GO_AUTH_ACLS);
    expect(decide(rules, "test1", "c1", "publish", "test/topic/1")).toBe("allow");
    expect(decide(rules, "test1", "c1", "subscribe", "test/topic/1")).toBe("deny");
    expect(decide(rules, "test1", "c1", "subscribe", "test/topic/2")).toBe("allow");
    expect(decide(rules, "test3", "c1", "subscribe", "test/other/1")).toBe("allow");
    expect(decide(rules, "test3", "c1", "publish", "test/denied")).toBe("deny");
    expect(decide(rules, "test3", "c1", "subscribe", "test/denied")).toBe("deny");
    expect(decide(rules, "test1", "test_client", "subscribe", "test/test_client")).toBe("allow");
    expect(decide(rules, "test1", "c1", "subscribe", "test/test1")).toBe("allow");
    // The general topics belong to anonymous clients only; users get only their block and patterns.
    expect(decide(rules, "", "c1", "publish", "test/general")).toBe("allow");
    expect(decide(rules, "test1", "c1", "publish", "test/general")).toBe("deny");
  });

  it("lets a user's own grant win over a pattern deny, as mosquitto checks the user list first", () => {
    const rules = convert("user alice\ntopic write shared/x\npattern deny shared/#\n");
    expect(decide(rules, "alice", "c", "publish", "shared/x")).toBe("allow");
    expect(decide(rules, "bob", "c", "publish", "shared/x")).toBe("deny");
  });

  it("adds up repeated user blocks and keeps their denies first", () => {
    const rules = convert("user a\ntopic read x\nuser b\ntopic read y\nuser a\ntopic deny x/secret\n");
    expect(rules.perUser.get("a")).toEqual<Rule[]>([
      { permission: "deny", action: "all", topic: "x/secret" },
      { permission: "allow", action: "subscribe", topic: "x" },
    ]);
  });

  it("refuses what our rules cannot express, line by line", () => {
    const parsed = parseMosquittoAcl(
      [
        "pattern read a/%u-x",
        "pattern write %c%u/b",
        "topic read ${username}/x",
        "topic read eq a/+",
        "topic read eq a/b",
      ].join("\n"),
    );
    const rules = mosquittoAclToRules(parsed.entries);
    expect(rules.errors).toEqual([
      { line: 1, reason: "%u and %c can only be converted when they fill a whole topic level" },
      { line: 2, reason: "%u and %c can only be converted when they fill a whole topic level" },
      { line: 3, reason: "the topic contains '${', which our rules read as a placeholder" },
      { line: 4, reason: "a topic starting with 'eq ' and holding wildcards cannot be expressed" },
    ]);
    // "eq a/b" was a literal filter in mosquitto; matching it exactly keeps that meaning.
    expect(rules.anonymous).toEqual<Rule[]>([
      { permission: "allow", action: "subscribe", topic: "eq eq a/b" },
    ]);
  });

  it("keeps %u literal in topic lines and says so", () => {
    const rules = convert("user u\ntopic write a/%u\n");
    expect(rules.perUser.get("u")).toEqual<Rule[]>([
      { permission: "allow", action: "publish", topic: "a/%u" },
    ]);
    expect(rules.notes.some((n) => n.startsWith("Lines 2: %u/%c in a topic line is literal"))).toBe(true);
  });

  it("explains what cannot be carried over", () => {
    const notes = convert(GO_AUTH_ACLS).notes.join("\n");
    expect(notes).toMatch(/own rules before the pattern rules, and deny when no rule matches/);
    expect(notes).toMatch(/read access became subscribe permission/);
    expect(notes).toMatch(/receive messages on a denied 'a\/b'/);
    expect(notes).toMatch(/mosquitto only refused '\+' and '#'/);
  });
});
