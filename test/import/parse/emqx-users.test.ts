import { createHash, pbkdf2Sync } from "node:crypto";
import bcrypt from "bcrypt";
import { describe, expect, it } from "vitest";
import { type EmqxImportOptions, parseEmqxUsers } from "../../../src/import/parse/index.js";
import { verifyWithFormat } from "../../../src/passwords/formats/index.js";

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const csv: EmqxImportOptions = { format: "csv", algorithm: "sha256", saltPosition: "prefix" };
const json: EmqxImportOptions = { ...csv, format: "json" };

describe("parseEmqxUsers", () => {
  it("reads a hash CSV in EMQX's documented layout and the hashes verify", async () => {
    const text = [
      "user_id,password_hash,salt,is_superuser",
      `myuser3,${sha256("de1024f462fb83910fd13151bd4bd235pw3")},de1024f462fb83910fd13151bd4bd235,true`,
      `myuser4,${sha256("ad773b5be9dd0613fe6c2f4d8c403139pw4").toUpperCase()},ad773b5be9dd0613fe6c2f4d8c403139,false`,
    ].join("\r\n");
    const { records, errors } = parseEmqxUsers(text, csv);
    expect(errors).toEqual([]);
    expect(records.map(({ line, username, isSuperuser }) => ({ line, username, isSuperuser }))).toEqual([
      { line: 2, username: "myuser3", isSuperuser: true },
      { line: 3, username: "myuser4", isSuperuser: false },
    ]);
    expect(await verifyWithFormat(records[0]?.hash ?? "", "pw3")).toBe(true);
    expect(await verifyWithFormat(records[1]?.hash ?? "", "pw4")).toBe(true);
    expect(await verifyWithFormat(records[1]?.hash ?? "", "pw3")).toBe(false);
  });

  it("handles RFC 4180 quoting: commas, quotes and line breaks inside fields", async () => {
    const salt = 'a,"b"\nc';
    const text = `user_id,password_hash,salt,is_superuser\n"we, ""the"" users",${sha256(`${salt}pw`)},"a,""b""\nc",\nnext,${sha256("pw")},,false\n`;
    const { records, errors } = parseEmqxUsers(text, csv);
    expect(errors).toEqual([]);
    expect(records.map((r) => [r.line, r.username])).toEqual([
      [2, 'we, "the" users'],
      [4, "next"],
    ]);
    expect(await verifyWithFormat(records[0]?.hash ?? "", "pw")).toBe(true);
    expect(await verifyWithFormat(records[1]?.hash ?? "", "pw")).toBe(true);
  });

  it("reads JSON exports, numbering users by array position", async () => {
    const text = JSON.stringify([
      { user_id: "u1", password_hash: sha256("s1pw"), salt: "s1", is_superuser: true },
      { user_id: "u2", password_hash: sha256("pw"), salt: null },
      ["not", "an", "object"],
      { user_id: "u4", password_hash: 42 },
    ]);
    const { records, errors } = parseEmqxUsers(text, json);
    expect(records.map((r) => [r.line, r.username, r.isSuperuser])).toEqual([
      [1, "u1", true],
      [2, "u2", false],
    ]);
    expect(errors).toEqual([
      { line: 3, reason: "expected an object" },
      { line: 4, reason: "password_hash must be a string" },
    ]);
    expect(await verifyWithFormat(records[1]?.hash ?? "", "pw")).toBe(true);
  });

  it("returns clear-text passwords for the importer to hash, never as a stored hash", () => {
    const plainCsv = parseEmqxUsers("user_id,password,is_superuser\nalice,secret,false\nbob,,false\n", csv);
    expect(plainCsv.records).toEqual([
      { line: 2, username: "alice", isSuperuser: false, plainPassword: "secret" },
    ]);
    expect(plainCsv.errors).toEqual([{ line: 3, reason: "empty password" }]);

    // With algorithm plain EMQX stored salt ‖ password; the salt is peeled off again.
    const plain: EmqxImportOptions = { format: "csv", algorithm: "plain", saltPosition: "suffix" };
    const hashed = parseEmqxUsers("user_id,password_hash,salt\ncarol,hunter2XY,XY\ndave,hunter2,XY\n", plain);
    expect(hashed.records).toEqual([
      { line: 2, username: "carol", isSuperuser: false, plainPassword: "hunter2" },
    ]);
    expect(hashed.errors).toEqual([{ line: 3, reason: "password_hash does not end with the salt" }]);
  });

  it("uses the authenticator's pbkdf2 settings and keeps bcrypt strings", async () => {
    const pbkdf2: EmqxImportOptions = {
      format: "json",
      algorithm: "pbkdf2",
      saltPosition: "disable",
      pbkdf2: { macFun: "sha512", iterations: 1000 },
    };
    const hash = pbkdf2Sync("pw", "NaCl", 1000, 64, "sha512").toString("hex");
    const { records } = parseEmqxUsers(
      JSON.stringify([{ user_id: "p", password_hash: hash, salt: "NaCl" }]),
      pbkdf2,
    );
    expect(await verifyWithFormat(records[0]?.hash ?? "", "pw")).toBe(true);

    const unconfigured: EmqxImportOptions = { format: "json", algorithm: "pbkdf2", saltPosition: "disable" };
    expect(parseEmqxUsers("[]", unconfigured).errors).toEqual([
      { line: 0, reason: "algorithm pbkdf2 needs the authenticator's mac_fun and iterations" },
    ]);

    const crypt = await bcrypt.hash("pw", 4);
    const bcryptOptions: EmqxImportOptions = { format: "csv", algorithm: "bcrypt", saltPosition: "disable" };
    const parsed = parseEmqxUsers(
      `user_id,password_hash,salt\nb,${crypt},${crypt.slice(0, 29)}\n`,
      bcryptOptions,
    );
    expect(parsed.records).toEqual([{ line: 2, username: "b", isSuperuser: false, hash: crypt }]);
  });

  it("reports bad rows by line, with reasons that do not quote hashes", () => {
    const good = sha256("s1pw");
    const text = [
      "user_id,password_hash,salt,is_superuser",
      `,${good},s,false`,
      `a,${good.slice(0, 10)},s,false`,
      `b,${good},s,yes`,
      `c,${good},s`,
      `d,${good},s,TRUE`,
      `e,${good},s,false`,
      `e,${good},s,true`,
    ].join("\n");
    const { records, errors } = parseEmqxUsers(text, csv);
    expect(records.map((r) => [r.line, r.username, r.isSuperuser])).toEqual([[8, "e", true]]);
    expect(errors).toEqual([
      { line: 2, reason: "empty user_id" },
      { line: 3, reason: "password_hash must be 64 hex characters" },
      { line: 4, reason: "is_superuser must be true or false (EMQX would have read this value as false)" },
      { line: 5, reason: "3 fields where the header has 4" },
      { line: 6, reason: "is_superuser must be true or false (EMQX would have read this value as false)" },
      { line: 7, reason: 'user "e" is defined again on line 8, which wins' },
    ]);
    for (const { reason } of errors) expect(reason).not.toContain(good.slice(0, 10));
  });

  it("reports file-level problems once", () => {
    expect(parseEmqxUsers("", csv).errors).toEqual([
      { line: 1, reason: "the file is empty: it has no header row" },
    ]);
    expect(parseEmqxUsers("user,hash\nx,y\n", csv).errors).toEqual([
      { line: 1, reason: "the header must name user_id and password_hash (or password for clear text)" },
    ]);
    expect(parseEmqxUsers('user_id,password_hash\n"open,abc\n', csv).errors).toEqual([
      { line: 2, reason: "a quoted field is never closed" },
    ]);
    expect(parseEmqxUsers("{", json).errors).toEqual([{ line: 0, reason: "not valid JSON" }]);
    expect(parseEmqxUsers('{"user_id":"x"}', json).errors).toEqual([
      { line: 0, reason: "expected a JSON array of users" },
    ]);
  });
});
