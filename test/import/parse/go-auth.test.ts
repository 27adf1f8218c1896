import { pbkdf2Sync } from "node:crypto";
import argon2 from "argon2";
import bcrypt from "bcrypt";
import { describe, expect, it } from "vitest";
import { parseGoAuth } from "../../../src/import/parse/index.js";
import { verifyWithFormat } from "../../../src/passwords/formats/index.js";
import { goAuthPbkdf2 } from "../../fixtures/hashes.js";

// mosquitto-go-auth's test-files/passwords: every password equals its username.
const GO_AUTH_PASSWORDS = `test1:PBKDF2$sha512$100000$2WQHK5rjNN+oOT+TZAsWAw==$TDf4Y6J+9BdnjucFQ0ZUWlTwzncTjOOeE00W4Qm8lfPQyPCZACCjgfdK353jdGFwJjAf6vPAYaba9+z4GWK7Gg==
name with whitespace@and/other.charcater:PBKDF2$sha512$100000$5dgqhpwX9ucdYe4f9p74Dg==$cJTt3l0vdDZn53nnLxLPXzjv0zDuByhtIL7CjNIexySGXAJU6sApWUwcxqFG3FJLoY9ib547A0Z64X67t0Dtdw==
`;

describe("parseGoAuth", () => {
  it("reads go-auth's own password file", async () => {
    const { records, errors } = parseGoAuth(GO_AUTH_PASSWORDS);
    expect(errors).toEqual([]);
    expect(records.map((r) => r.username)).toEqual(["test1", "name with whitespace@and/other.charcater"]);
    for (const { username, hash } of records) expect(await verifyWithFormat(hash, username)).toBe(true);
  });

  it("accepts bcrypt and argon2id lines next to pbkdf2 ones", async () => {
    const crypt = await bcrypt.hash("b", 4);
    const argon = await argon2.hash("a", {
      type: argon2.argon2id,
      memoryCost: 1024,
      timeCost: 1,
      parallelism: 1,
    });
    const pbkdf2 = goAuthPbkdf2("p", Buffer.from("saltsaltsaltsalt"), { digest: "sha256" });
    const { records, errors } = parseGoAuth(`# users\n\nb:${crypt}\na:${argon}\np:${pbkdf2}\n`);
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { line: 3, username: "b", hash: crypt },
      { line: 4, username: "a", hash: argon },
      { line: 5, username: "p", hash: pbkdf2 },
    ]);
  });

  it("re-encodes utf-8 salts when go-auth was configured with hasher_salt_encoding utf-8", async () => {
    const key = pbkdf2Sync("pw", "text salt!", 1000, 64, "sha512").toString("base64");
    const line = `u:PBKDF2$sha512$1000$text salt!$${key}\n`;
    expect(parseGoAuth(line).errors).toEqual([{ line: 1, reason: "salt is not valid padded base64" }]);
    const { records } = parseGoAuth(line, { saltEncoding: "utf-8" });
    expect(await verifyWithFormat(records[0]?.hash ?? "", "pw")).toBe(true);
  });

  it("reports bad lines by number and reason", () => {
    const good = goAuthPbkdf2("p", Buffer.from("saltsaltsaltsalt"));
    const text = [
      `a:${good}:x`,
      "no-colon",
      `:${good}`,
      `b: ${good}`,
      "c:$6$c2FsdHNhbHRzYWx0$aGFzaA==",
      "d:$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
      `e:${good.replace("PBKDF2$sha512$1000$", "PBKDF2$sha512$0$")}`,
    ].join("\n");
    expect(parseGoAuth(text)).toEqual({
      records: [],
      errors: [
        { line: 1, reason: "expected exactly one ':' between username and hash (go-auth skips this line)" },
        { line: 2, reason: "expected exactly one ':' between username and hash (go-auth skips this line)" },
        { line: 3, reason: "empty username" },
        { line: 4, reason: "whitespace around the hash (go-auth does not trim it, so it never matched)" },
        {
          line: 5,
          reason: "unsupported hash: go-auth writes PBKDF2$…, bcrypt ($2a$/$2b$/$2y$) or $argon2id$",
        },
        {
          line: 6,
          reason: "unsupported hash: go-auth writes PBKDF2$…, bcrypt ($2a$/$2b$/$2y$) or $argon2id$",
        },
        { line: 7, reason: "iterations must be an integer from 1 to 10000000" },
      ],
    });
  });

  it("keeps the last line for a repeated username, as go-auth does", () => {
    const one = goAuthPbkdf2("1", Buffer.from("saltsaltsaltsalt"));
    const two = goAuthPbkdf2("2", Buffer.from("saltsaltsaltsalt"));
    expect(parseGoAuth(`x:${one}\nx:${two}\n`)).toEqual({
      records: [{ line: 2, username: "x", hash: two }],
      errors: [{ line: 1, reason: 'user "x" is defined again on line 2, which wins' }],
    });
  });
});
