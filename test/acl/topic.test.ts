import { describe, expect, it } from "vitest";
import { validateTopicFilter, validateTopicName } from "../../src/acl/topic.js";

const MAX = 65_535;

// Valid both as a name and as a filter.
const plainTopics = [
  "a",
  "sport/tennis/player1",
  "sport/tennis/player1/ranking",
  "/",
  "/finance",
  "finance/",
  "a//b",
  "//",
  " ",
  "a b/c d",
  "$SYS/monitor/Clients",
  "$share",
  "ümlaut/日本語/🙂",
];

// Labelled, so that test names stay short.
const longest: [string, string][] = [
  ["65535 ASCII bytes", "a".repeat(MAX)],
  ["65535 bytes of two-byte characters and one ASCII", `${"é".repeat(32_767)}a`],
  ["65534 bytes: four-byte characters, then '/#'", `${"🙂".repeat(16_383)}/#`],
];

const tooLong: [string, string][] = [
  ["65536 ASCII bytes", "a".repeat(MAX + 1)],
  ["32768 two-byte characters", "é".repeat(32_768)],
  ["16384 four-byte characters", "🙂".repeat(16_384)],
];

const wildcardFilters = [
  "#",
  "+",
  "+/+",
  "/+",
  "+/",
  "sport/#",
  "sport/tennis/+",
  "sport/tennis/player1/#",
  "sport/+/player1",
  "+/tennis/#",
  "$SYS/#",
  "$SYS/monitor/+",
  "a/+/+/#",
  "//#",
  "+/+/+",
];

const invalidForBoth: [string, string][] = [
  ["", "must not be empty"],
  ["a\u0000b", "must not contain the null character U+0000"],
  ["\u0000", "must not contain the null character U+0000"],
  ["a/\uD800", "lone surrogate"],
  ["\uDC00/b", "lone surrogate"],
  ["\uDC00\uD800", "lone surrogate"],
];

describe("validateTopicName", () => {
  it.each(plainTopics)("accepts %j", (topic) => {
    expect(validateTopicName(topic)).toEqual({ ok: true });
  });

  it.each(invalidForBoth)("rejects %j", (topic, reason) => {
    const result = validateTopicName(topic);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
    expect(!result.ok && result.reason).toContain("topic name");
  });

  it.each(longest.slice(0, 2))("accepts %s", (_label, topic) => {
    expect(validateTopicName(topic)).toEqual({ ok: true });
  });

  it.each(tooLong)("rejects %s", (_label, topic) => {
    expect(validateTopicName(topic)).toEqual({
      ok: false,
      reason: "a topic name must be at most 65535 bytes long in UTF-8",
    });
  });

  it.each([...wildcardFilters, "a+", "a#", "sport/tennis#", "+a", "a/#/b"])(
    "rejects wildcards in %j",
    (topic) => {
      expect(validateTopicName(topic)).toEqual({
        ok: false,
        reason: "a topic name must not contain the wildcards '+' or '#'",
      });
    },
  );
});

describe("validateTopicFilter", () => {
  it.each([...plainTopics, ...wildcardFilters])("accepts %j", (topic) => {
    expect(validateTopicFilter(topic)).toEqual({ ok: true });
  });

  it.each(longest)("accepts %s", (_label, topic) => {
    expect(validateTopicFilter(topic)).toEqual({ ok: true });
  });

  it.each(tooLong)("rejects %s", (_label, topic) => {
    expect(validateTopicFilter(topic)).toEqual({
      ok: false,
      reason: "a topic filter must be at most 65535 bytes long in UTF-8",
    });
  });

  it.each(invalidForBoth)("rejects %j", (topic, reason) => {
    const result = validateTopicFilter(topic);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
    expect(!result.ok && result.reason).toContain("topic filter");
  });

  it.each([
    // MQTT 3.1.1 §4.7.1.2: "sport/tennis#" and "sport/tennis/#/ranking" are not valid.
    ["sport/tennis#", "'#' must occupy a whole level"],
    ["sport/tennis/#/ranking", "'#' must be the last level of a filter"],
    ["#/", "'#' must be the last level of a filter"],
    ["#/#", "'#' must be the last level of a filter"],
    ["a/#/", "'#' must be the last level of a filter"],
    ["##", "'#' must occupy a whole level"],
    ["a#", "'#' must occupy a whole level"],
    ["#a/b", "'#' must occupy a whole level"],
    ["a/b/c#", "'#' must occupy a whole level"],
    ["+#", "'#' must occupy a whole level"],
    // MQTT 3.1.1 §4.7.1.3: "sport+" is not valid.
    ["sport+", "'+' must occupy a whole level"],
    ["++", "'+' must occupy a whole level"],
    ["a/+b/c", "'+' must occupy a whole level"],
    ["a/b+", "'+' must occupy a whole level"],
    ["+a/#", "'+' must occupy a whole level"],
  ])("rejects %j: %s", (topic, reason) => {
    expect(validateTopicFilter(topic)).toEqual({ ok: false, reason });
  });
});
