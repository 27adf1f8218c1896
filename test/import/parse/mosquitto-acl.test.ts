import { describe, expect, it } from "vitest";
import { parseMosquittoAcl } from "../../../src/import/parse/index.js";

describe("parseMosquittoAcl", () => {
  it("reads mosquitto's aclfile.example", () => {
    const text = [
      "# This affects access control for clients with no username.",
      "topic read $SYS/#",
      "",
      '# This only affects clients with username "roger".',
      "user roger",
      "topic foo/bar",
      "",
      "# This affects all clients.",
      "pattern write $SYS/broker/connection/%c/state",
    ].join("\n");
    expect(parseMosquittoAcl(text)).toEqual({
      entries: [
        { line: 2, kind: "topic", access: "read", topic: "$SYS/#" },
        { line: 5, kind: "user", username: "roger" },
        { line: 6, kind: "topic", access: "readwrite", topic: "foo/bar" },
        { line: 9, kind: "pattern", access: "write", topic: "$SYS/broker/connection/%c/state" },
      ],
      errors: [],
    });
  });

  it("allows spaces in a topic only after an explicit access, and in usernames", () => {
    const text =
      "user test with space\n topic   read   test/lots   of   spaces   in/topic and borders  \ntopic deny a b";
    expect(parseMosquittoAcl(text).entries).toEqual([
      { line: 1, kind: "user", username: "test with space" },
      { line: 2, kind: "topic", access: "read", topic: "test/lots   of   spaces   in/topic and borders" },
      { line: 3, kind: "topic", access: "deny", topic: "a b" },
    ]);
    expect(parseMosquittoAcl("topic a b").errors).toEqual([
      { line: 1, reason: 'unknown access "a": use read, write, readwrite or deny' },
    ]);
  });

  it("takes a lone word as the topic, even if it spells an access", () => {
    expect(parseMosquittoAcl("topic read").entries).toEqual([
      { line: 1, kind: "topic", access: "readwrite", topic: "read" },
    ]);
  });

  it("reports every bad line and goes on", () => {
    const text = [
      "user",
      "topic",
      "topic write a/#/b",
      "pattern read a/b+",
      "  # indented comment",
      "topic\tread\tx",
      "subscribe a/b",
      "topic read ok/topic",
      "topic readonly x",
    ].join("\n");
    const { entries, errors } = parseMosquittoAcl(text);
    expect(entries).toEqual([{ line: 8, kind: "topic", access: "read", topic: "ok/topic" }]);
    expect(errors).toEqual([
      { line: 1, reason: "user line without a username" },
      { line: 2, reason: "topic line without a topic" },
      { line: 3, reason: "invalid topic: '#' must be the last level of a filter" },
      { line: 4, reason: "invalid topic: '+' must occupy a whole level" },
      { line: 5, reason: "a comment must start in the first column" },
      { line: 6, reason: "fields must be separated by spaces (mosquitto does not split on tabs)" },
      { line: 7, reason: "unknown line type: expected user, topic or pattern" },
      { line: 9, reason: 'unknown access "readonly": use read, write, readwrite or deny' },
    ]);
  });
});
