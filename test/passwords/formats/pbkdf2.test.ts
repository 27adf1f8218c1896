import { pbkdf2Sync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  detectFormat,
  normalizeGoAuthPbkdf2,
  verifyWithFormat,
} from "../../../src/passwords/formats/index.js";
import { ab64, goAuthPbkdf2, passlibPbkdf2 } from "../../fixtures/hashes.js";

describe("go-auth PBKDF2$", () => {
  it("verifies mosquitto-go-auth's own test fixture (test-files/passwords, production parameters)", async () => {
    const stored =
      "PBKDF2$sha512$100000$2WQHK5rjNN+oOT+TZAsWAw==$TDf4Y6J+9BdnjucFQ0ZUWlTwzncTjOOeE00W4Qm8lfPQyPCZACCjgfdK353jdGFwJjAf6vPAYaba9+z4GWK7Gg==";
    expect(detectFormat(stored)).toBe("go-auth-pbkdf2");
    expect(await verifyWithFormat(stored, "test1")).toBe(true);
    expect(await verifyWithFormat(stored, "test2")).toBe(false);
  });

  it.each(["sha256", "sha512"] as const)(
    "verifies %s with the key length it was made with",
    async (digest) => {
      const stored = goAuthPbkdf2("pw", Buffer.from("saltsaltsaltsalt"), { digest, keyLength: 24 });
      expect(await verifyWithFormat(stored, "pw")).toBe(true);
      expect(await verifyWithFormat(stored, "px")).toBe(false);
    },
  );

  it("only stores base64 salts: a utf-8 salt is re-encoded on import", async () => {
    const key = pbkdf2Sync("pw", "plain-text-salt", 1000, 32, "sha512").toString("base64");
    const raw = `PBKDF2$sha512$1000$plain-text-salt$${key}`;

    const asBase64 = normalizeGoAuthPbkdf2(raw, "base64");
    expect(asBase64.ok).toBe(false);

    const asText = normalizeGoAuthPbkdf2(raw, "utf-8");
    expect(asText).toEqual({
      ok: true,
      value: `PBKDF2$sha512$1000$${Buffer.from("plain-text-salt").toString("base64")}$${key}`,
    });
    if (asText.ok) expect(await verifyWithFormat(asText.value, "pw")).toBe(true);
  });

  it("reads a utf-8 salt that happens to be valid base64 differently, so the setting matters", async () => {
    const key = pbkdf2Sync("pw", "abcd", 1000, 32, "sha512").toString("base64");
    const raw = `PBKDF2$sha512$1000$abcd$${key}`;
    const wrong = normalizeGoAuthPbkdf2(raw, "base64");
    const right = normalizeGoAuthPbkdf2(raw, "utf-8");
    expect(wrong.ok && right.ok).toBe(true);
    if (!wrong.ok || !right.ok) return;
    expect(await verifyWithFormat(wrong.value, "pw")).toBe(false);
    expect(await verifyWithFormat(right.value, "pw")).toBe(true);
  });

  it("rewrites go-auth's $pbkdf2-sha512$i=…,l=… variant and its sha512 fallthrough", async () => {
    const salt = Buffer.from("0123456789abcdef");
    const key = pbkdf2Sync("pw", salt, 1000, 48, "sha512");
    const unpadded = (b: Buffer) => b.toString("base64").replace(/=+$/, "");
    const phc = normalizeGoAuthPbkdf2(
      `$pbkdf2-sha512$l=48,i=1000$${unpadded(salt)}$${unpadded(key)}`,
      "base64",
    );
    expect(phc).toEqual({
      ok: true,
      value: `PBKDF2$sha512$1000$${salt.toString("base64")}$${key.toString("base64")}`,
    });

    // go-auth issue #269: a mosquitto $7$ verifies as PBKDF2$7$…, because "7" means sha512.
    const mosquittoKey = pbkdf2Sync("pw", salt.subarray(0, 12), 101, 64, "sha512").toString("base64");
    const seven = normalizeGoAuthPbkdf2(
      `PBKDF2$7$101$${salt.subarray(0, 12).toString("base64")}$${mosquittoKey}`,
      "base64",
    );
    expect(seven.ok && seven.value.startsWith("PBKDF2$sha512$101$")).toBe(true);
    if (seven.ok) expect(await verifyWithFormat(seven.value, "pw")).toBe(true);

    expect(
      normalizeGoAuthPbkdf2(`$pbkdf2-sha512$i=1000,l=32$${unpadded(salt)}$${unpadded(key)}`, "base64"),
    ).toEqual({
      ok: false,
      reason: "hash length differs from the l= parameter",
    });
  });

  it("ignores password bytes after a NUL, as go-auth only sees mosquitto's C string", async () => {
    const stored = goAuthPbkdf2("abc", Buffer.from("saltsaltsaltsalt"));
    expect(await verifyWithFormat(stored, "abc\u0000def")).toBe(true);
  });

  it.each([
    "PBKDF2$md5$1000$c2FsdA==$aGFzaA==",
    "PBKDF2$sha512$1000$$aGFzaA==",
    "PBKDF2$sha512$1000$c2FsdA$aGFzaA==",
    "PBKDF2$sha512$-1$c2FsdA==$aGFzaA==",
    "PBKDF2$sha512$1000$c2FsdA==$",
  ])("does not recognise the malformed %s", async (stored) => {
    expect(detectFormat(stored)).toBeNull();
    expect(await verifyWithFormat(stored, "pw")).toBe(false);
  });
});

describe("passlib $pbkdf2-sha256$ / $pbkdf2-sha512$", () => {
  // Written by passlib 1.7.4 (Debian python3-passlib) with rounds=1000; chosen to hold '.' in ab64.
  it.each([
    [
      "correct horse",
      "$pbkdf2-sha256$1000$ulcq5Txn7P3f.x/j3Ptfaw$9DtaBd/w5YWZQJE.33ffDmx/aN/g0vshPNqaOzwGmNE",
    ],
    [
      "pässwörd",
      "$pbkdf2-sha512$1000$YoyxtjbmPOecc.59DwFg7A$LPDdqemSzOt/ymGozCJ6oPHrQkPYvYFR65IaoT/7WAjKZkTzsTQetfWRt7qlRySv67.ILHPQDzffJ.P6nZVZsw",
    ],
  ])("verifies a hash passlib wrote for %s", async (password, stored) => {
    expect(detectFormat(stored)).toBe(
      stored.startsWith("$pbkdf2-sha256$") ? "passlib-pbkdf2-sha256" : "passlib-pbkdf2-sha512",
    );
    expect(await verifyWithFormat(stored, password)).toBe(true);
    expect(await verifyWithFormat(stored, `${password}.`)).toBe(false);
  });

  it("decodes ab64's '.' as base64's '+'", async () => {
    const salt = Buffer.from([0xfb, 0xef, 0xbe, 0xfb, 0xef]);
    expect(ab64(salt)).toBe("......8");
    const stored = passlibPbkdf2("pw", salt, 1000, "sha256");
    expect(await verifyWithFormat(stored, "pw")).toBe(true);
    expect(detectFormat(stored.replaceAll(".", "+"))).toBeNull();
  });

  it.each([
    "$pbkdf2-sha256$1000$c2FsdA$dG9vc2hvcnQ",
    "$pbkdf2-sha256$01000$c2FsdA$9DtaBd/w5YWZQJE.33ffDmx/aN/g0vshPNqaOzwGmNE",
    "$pbkdf2-sha256$1000$c2FsdA==$9DtaBd/w5YWZQJE.33ffDmx/aN/g0vshPNqaOzwGmNE",
    "$pbkdf2$1000$c2FsdA$9DtaBd/w5YWZQJE.33ffDmx/aN/g0vshPNqaOzwGmNE",
  ])("does not recognise the malformed or unsupported %s", (stored) => {
    expect(detectFormat(stored)).toBeNull();
  });
});
