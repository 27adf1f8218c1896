import argon2 from "argon2";
import { describe, expect, it } from "vitest";
import { parseMosquittoPasswd } from "../../../src/import/parse/index.js";
import { verifyWithFormat } from "../../../src/passwords/formats/index.js";
import { mosquittoPbkdf2, mosquittoSha512 } from "../../fixtures/hashes.js";
import { generateMosquittoPasswd, skipWithoutMosquittoPasswd } from "../../fixtures/mosquitto-passwd.js";

const salt = Buffer.alloc(12, 3);

describe("parseMosquittoPasswd", () => {
  it.skipIf(skipWithoutMosquittoPasswd)("reads a file written by the real mosquitto_passwd", async () => {
    const file = await generateMosquittoPasswd([
      { username: "alice", password: "alice's secret" },
      { username: "bob", password: "bob: two words", hashAlgorithm: "sha512" },
      { username: "carol", password: "carol", iterations: 1000 },
    ]);
    const { records, errors } = parseMosquittoPasswd(file);
    expect(errors).toEqual([]);
    expect(records.map((r) => [r.line, r.username])).toEqual([
      [1, "alice"],
      [2, "bob"],
      [3, "carol"],
    ]);
    expect(await verifyWithFormat(records[0]?.hash ?? "", "alice's secret")).toBe(true);
    expect(await verifyWithFormat(records[1]?.hash ?? "", "bob: two words")).toBe(true);
    expect(await verifyWithFormat(records[2]?.hash ?? "", "carol")).toBe(true);
  });

  it("skips comments and blank lines, trims like mosquitto, and accepts CRLF and a BOM", () => {
    const alice = mosquittoPbkdf2("a", salt);
    const bob = mosquittoSha512("b", salt);
    const text = `\uFEFF# users\r\n\r\n  alice : ${alice} \r\n   \r\nbob:${bob}\r\n`;
    expect(parseMosquittoPasswd(text)).toEqual({
      records: [
        { line: 3, username: "alice", hash: alice },
        { line: 5, username: "bob", hash: bob },
      ],
      errors: [],
    });
  });

  it("accepts argon2id lines from mosquitto's next release", async () => {
    const hash = await argon2.hash("pw", {
      type: argon2.argon2id,
      memoryCost: 1024,
      timeCost: 1,
      parallelism: 1,
    });
    expect(parseMosquittoPasswd(`dave:${hash}\n`).records).toEqual([{ line: 1, username: "dave", hash }]);
    expect(parseMosquittoPasswd("dave:$argon2id$v=19$broken\n").errors).toEqual([
      { line: 1, reason: "malformed $argon2id$ hash" },
    ]);
  });

  it("reports each bad line by number and reason, never quoting the hash", () => {
    const good = mosquittoPbkdf2("pw", salt);
    const shortSalt = good.replace(salt.toString("base64"), Buffer.alloc(8).toString("base64"));
    const lines = [
      `ok:${good}`,
      "no colon here",
      `:${good}`,
      "empty:",
      `glibc:$6$rounds=5000$abc$def`,
      `bcrypt:$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy`,
      `short:${shortSalt}`,
      `extra:${good}:more`,
      `fields:${good}$extra`,
      `lowiter:${good.replace("$7$101$", "$7$0$")}`,
    ];
    const { records, errors } = parseMosquittoPasswd(lines.join("\n"));
    expect(records.map((r) => r.username)).toEqual(["ok"]);
    expect(errors).toEqual([
      { line: 2, reason: "no ':' between username and hash (mosquitto ignores this line)" },
      { line: 3, reason: "empty username" },
      { line: 4, reason: "no hash after ':' (mosquitto drops users without a hash)" },
      { line: 5, reason: "malformed mosquitto hash: expected $6$<salt>$<hash>" },
      { line: 6, reason: "not a mosquitto hash: it must start with $6$ or $7$" },
      { line: 7, reason: "salt decodes to 8 bytes; mosquitto uses 12 (or 64 from its next release)" },
      { line: 8, reason: "a second ':' (no hash contains one; mosquitto ignores what follows it)" },
      { line: 9, reason: "malformed mosquitto hash: expected $7$<iterations>$<salt>$<hash>" },
      { line: 10, reason: "iterations must be an integer from 1 to 10000000" },
    ]);
    const hashBody = good.split("$")[4] ?? "";
    for (const { reason } of errors) expect(reason).not.toContain(hashBody);
  });

  it("keeps the last line for a repeated username, as the broker does", () => {
    const first = mosquittoPbkdf2("one", salt);
    const second = mosquittoPbkdf2("two", salt);
    const { records, errors } = parseMosquittoPasswd(`eve:${first}\nfrank:${first}\neve:${second}\n`);
    expect(records).toEqual([
      { line: 2, username: "frank", hash: first },
      { line: 3, username: "eve", hash: second },
    ]);
    expect(errors).toEqual([{ line: 1, reason: 'user "eve" is defined again on line 3, which wins' }]);
  });
});
