// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${username}" and "${clientid}" are the placeholder syntax under test.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expandPlaceholders } from "../../src/acl/placeholders.js";

const ids = { username: "alice", clientid: "dev-1" };

describe("expandPlaceholders", () => {
  it.each([
    ["a/b", "a/b"],
    ["#", "#"],
    ["devices/+/status", "devices/+/status"],
    ["${username}", "alice"],
    ["${clientid}", "dev-1"],
    ["users/${username}/#", "users/alice/#"],
    ["a/${clientid}/b", "a/dev-1/b"],
    ["${username}/${clientid}", "alice/dev-1"],
    ["${clientid}/${clientid}/+", "dev-1/dev-1/+"],
    ["/${username}/", "/alice/"],
    ["$SYS/${clientid}", "$SYS/dev-1"],
    // "$" and "{" alone are ordinary characters.
    ["a/$/{username}", "a/$/{username}"],
    ["a/$username", "a/$username"],
  ])("expands %j to %j", (pattern, expected) => {
    expect(expandPlaceholders(pattern, ids)).toBe(expected);
  });

  it.each([
    ["a/x${clientid}", "placeholder inside a level"],
    ["a/${clientid}x", "placeholder inside a level"],
    ["${username}${clientid}", "two placeholders in one level"],
    ["a/${peerhost}", "unknown placeholder"],
    ["a/${USERNAME}", "placeholders are case-sensitive"],
    ["a/${ username }", "no spaces inside"],
    ["a/${username", "unterminated"],
    ["a/${}", "empty placeholder"],
  ])("does not apply %j (%s)", (pattern) => {
    expect(expandPlaceholders(pattern, ids)).toBeNull();
  });

  // Each of these would otherwise widen "users/${username}/#" or "${clientid}/data".
  describe.each([
    ["a/b", "a level separator"],
    ["+", "a single-level wildcard"],
    ["#", "a multi-level wildcard"],
    ["", "nothing (an empty level)"],
    ["x${clientid}", "a placeholder for EMQX to render again"],
    ["${username}", "a placeholder for EMQX to render again"],
    ["a+b", "a wildcard inside"],
    ["a#", "a wildcard inside"],
    ["/", "a bare separator"],
    ["a\u0000", "the null character"],
  ])("a value of %j (%s)", (value) => {
    it.each([
      ["users/${username}/#", { username: value, clientid: "c" }],
      ["${username}/#", { username: value, clientid: "c" }],
      ["a/${clientid}", { username: "u", clientid: value }],
      ["${clientid}/data", { username: "u", clientid: value }],
    ])("never expands %j", (pattern, identity) => {
      expect(expandPlaceholders(pattern, identity)).toBeNull();
    });
  });

  // A "$" first level is broker-reserved space: EMQX republishes "$delayed/10/t" to "t".
  it.each([
    ["${clientid}/data", "$delayed", null],
    ["${clientid}/#", "$SYS", null],
    ["${clientid}", "$share", null],
    ["clients/${clientid}", "$delayed", "clients/$delayed"],
    ["$SYS/${clientid}", "$x", "$SYS/$x"],
    ["${clientid}/$x", "x$", "x$/$x"],
  ])("expands %j with client ID %j to %j", (pattern, clientid, expected) => {
    expect(expandPlaceholders(pattern, { username: "u", clientid })).toBe(expected);
  });

  it("ignores an unsafe value whose placeholder the rule does not use", () => {
    expect(expandPlaceholders("users/${username}/#", { username: "bob", clientid: "#" })).toBe("users/bob/#");
  });

  it("never widens: an expansion keeps every level, and wildcards stay where the rule had them", () => {
    const pattern = fc
      .tuple(
        fc.array(fc.constantFrom("a", "+", "", "$x", "${username}", "${clientid}"), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.boolean(),
      )
      .map(([levels, multi]) => (multi ? [...levels, "#"] : levels));
    const value = fc.oneof(
      fc.string(),
      fc.constantFrom("a/b", "+", "#", "", "x${clientid}", "$SYS", "a\u0000"),
    );
    fc.assert(
      fc.property(pattern, value, value, (levels, username, clientid) => {
        const expanded = expandPlaceholders(levels.join("/"), { username, clientid });
        fc.pre(expanded !== null);
        const out = expanded.split("/");
        expect(out).toHaveLength(levels.length);
        for (const [i, level] of levels.entries()) {
          const isPlaceholder = level.startsWith("${");
          expect(out[i]).toBe(isPlaceholder ? (level === "${username}" ? username : clientid) : level);
          if (!isPlaceholder) continue;
          for (const unsafe of ["+", "#", "\u0000", "${"]) expect(out[i]).not.toContain(unsafe);
        }
        expect(out[0]?.startsWith("$")).toBe(levels[0]?.startsWith("$") && !levels[0]?.startsWith("${"));
      }),
      { numRuns: 2000 },
    );
  });
});
