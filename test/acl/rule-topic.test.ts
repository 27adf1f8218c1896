// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${username}" and "${clientid}" are the placeholder syntax under test.
import { describe, expect, it } from "vitest";
import { resolveRuleTopic, validateRuleTopic } from "../../src/acl/rule-topic.js";

describe("validateRuleTopic", () => {
  it.each([
    "a/b",
    "#",
    "+/status",
    "$SYS/#",
    "users/${username}/#",
    "devices/${clientid}/+",
    "a/${clientid}/b",
    "${username}",
    "${clientid}/#",
    "${username}/${clientid}",
    "${clientid}/${clientid}",
    "/${username}/",
    "eq a/b",
    "eq #",
    "eq a/+/b",
    "eq devices/${clientid}/#",
    "eq ${username}",
    "eq  leading-space",
    "eq", // a plain one-level filter named "eq"
    "equal/a",
    "a/$/{x}",
    "a/$username",
  ])("accepts %j", (topic) => {
    expect(validateRuleTopic(topic)).toEqual({ ok: true });
  });

  // A value is at least one byte, so that is the length a placeholder is checked with.
  it("accepts a topic of 65535 bytes once each placeholder is one byte", () => {
    expect(validateRuleTopic(`${"x".repeat(65_533)}/\${clientid}`)).toEqual({ ok: true });
  });

  it("rejects a topic longer than 65535 bytes even with one-byte values", () => {
    expect(validateRuleTopic(`${"x".repeat(65_534)}/\${clientid}`)).toEqual({
      ok: false,
      reason: "a topic filter must be at most 65535 bytes long in UTF-8",
    });
  });

  it.each([
    ["", "a topic filter must not be empty"],
    ["eq ", "a topic filter must not be empty"],
    ["a/#/b", "'#' must be the last level of a filter"],
    ["eq a/#/b", "'#' must be the last level of a filter"],
    ["${username}/#/x", "'#' must be the last level of a filter"],
    ["a/b#", "'#' must occupy a whole level"],
    ["a+/b", "'+' must occupy a whole level"],
    ["a\u0000", "a topic filter must not contain the null character U+0000"],
    ["a/x${clientid}", "placeholder ${clientid} must occupy a whole topic level"],
    ["a/${clientid}x/b", "placeholder ${clientid} must occupy a whole topic level"],
    ["${username}-${clientid}", "placeholder ${username} must occupy a whole topic level"],
    ["eq a/x${username}", "placeholder ${username} must occupy a whole topic level"],
    ["a/${peerhost}", "unknown placeholder '${peerhost}': only ${username} and ${clientid} are supported"],
    ["a/${USERNAME}", "unknown placeholder '${USERNAME}': only ${username} and ${clientid} are supported"],
    ["a/${}", "unknown placeholder '${}': only ${username} and ${clientid} are supported"],
    ["a/${username", "unknown placeholder '${username': only ${username} and ${clientid} are supported"],
    [
      "x${client_attrs.site}",
      "unknown placeholder '${client_attrs.site}': only ${username} and ${clientid} are supported",
    ],
  ])("rejects %j: %s", (topic, reason) => {
    expect(validateRuleTopic(topic)).toEqual({ ok: false, reason });
  });
});

describe("resolveRuleTopic", () => {
  const ids = { username: "alice", clientid: "dev-1" };

  it.each([
    ["a/b", { exact: false, filter: "a/b" }],
    ["users/${username}/#", { exact: false, filter: "users/alice/#" }],
    ["eq a/+", { exact: true, filter: "a/+" }],
    ["eq devices/${clientid}", { exact: true, filter: "devices/dev-1" }],
    ["eq", { exact: false, filter: "eq" }],
  ])("resolves %j", (topic, expected) => {
    expect(resolveRuleTopic(topic, ids)).toEqual(expected);
  });

  it.each([
    ["users/${username}/#", { username: "a/b", clientid: "c" }, "the value is unsafe"],
    ["eq users/${username}", { username: "#", clientid: "c" }, "the value is unsafe, exact or not"],
    ["a/${peerhost}", ids, "the placeholder is unknown"],
    ["a/#/b", ids, "the stored topic is not a valid filter"],
    ["eq ", ids, "the stored topic is empty after its prefix"],
    ["a/${clientid}", { username: "u", clientid: "\uD800" }, "the value makes the topic invalid Unicode"],
  ])("gives null for %j when %s", (topic, identity, _why) => {
    expect(resolveRuleTopic(topic, identity)).toBeNull();
  });

  it("gives null when the value makes the topic longer than 65535 bytes", () => {
    const topic = `${"x".repeat(65_529)}/\${clientid}`;
    expect(resolveRuleTopic(topic, { username: "u", clientid: "12345" })).toEqual({
      exact: false,
      filter: `${"x".repeat(65_529)}/12345`,
    });
    expect(resolveRuleTopic(topic, { username: "u", clientid: "123456" })).toBeNull();
  });
});
