import { pbkdf2Sync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  canExportToMosquitto,
  describeFormat,
  detectFormat,
  inspectMosquittoHash,
  verifyWithFormat,
} from "../../../src/passwords/formats/index.js";
import { mosquittoPbkdf2, mosquittoSha512 } from "../../fixtures/hashes.js";
import { generateMosquittoPasswd, skipWithoutMosquittoPasswd } from "../../fixtures/mosquitto-passwd.js";

describe("mosquitto $7$ (PBKDF2-HMAC-SHA512)", () => {
  it("verifies the dynamic-security admin fixture, derived here from its salt", async () => {
    const salt = Buffer.from("Ezuo4G1TqYtTQDL/", "base64");
    expect(salt).toHaveLength(12);
    const hash = pbkdf2Sync(Buffer.from("admin"), salt, 101, 64, "sha512").toString("base64");
    const stored = `$7$101$Ezuo4G1TqYtTQDL/$${hash}`;

    expect(detectFormat(stored)).toBe("mosquitto-pbkdf2-sha512");
    expect(await verifyWithFormat(stored, "admin")).toBe(true);
    expect(await verifyWithFormat(stored, "Admin")).toBe(false);
  });

  it("verifies 64-byte salts, as mosquitto's next release writes them", async () => {
    const stored = mosquittoPbkdf2("s3cret", randomBytes(64), 1000);
    expect(await verifyWithFormat(stored, "s3cret")).toBe(true);
    expect(canExportToMosquitto(stored)).toBe(false);
  });

  it("ignores password bytes after a NUL, like the broker's C strings", async () => {
    const stored = mosquittoPbkdf2("abc", randomBytes(12));
    expect(await verifyWithFormat(stored, "abc\u0000anything")).toBe(true);
    expect(await verifyWithFormat(stored, Buffer.from("abc\u0000xyz"))).toBe(true);
    expect(await verifyWithFormat(stored, "abcd")).toBe(false);
  });

  it("hashes string passwords as UTF-8", async () => {
    const stored = mosquittoPbkdf2("pässwörd ✓", randomBytes(12));
    expect(await verifyWithFormat(stored, "pässwörd ✓")).toBe(true);
    expect(await verifyWithFormat(stored, Buffer.from("pässwörd ✓", "latin1"))).toBe(false);
  });
});

describe("mosquitto $6$ (one SHA-512 round)", () => {
  it("verifies mosquitto's own test fixture (user/password)", async () => {
    const stored =
      "$6$vZY4TS+/HBxHw38S$vvjVFECzb8dyuu/mruD2QKTfdFn0WmKxbc+1TsdB0L8EdHk3v9JRmfjHd56+VaTnUcSZOZ/hzkdvWCtxlX7AUQ==";
    expect(detectFormat(stored)).toBe("mosquitto-sha512");
    expect(await verifyWithFormat(stored, "password")).toBe(true);
    expect(await verifyWithFormat(stored, "passwore")).toBe(false);
    expect(describeFormat(stored)).toEqual({ format: "mosquitto-sha512", fastDigest: true });
    expect(canExportToMosquitto(stored)).toBe(true);
  });

  it("is SHA-512(password ‖ salt), not glibc sha512-crypt", async () => {
    const salt = randomBytes(12);
    expect(await verifyWithFormat(mosquittoSha512("pw", salt), "pw")).toBe(true);
  });
});

describe("inspectMosquittoHash", () => {
  const salt = Buffer.alloc(12, 1).toString("base64");
  const hash = Buffer.alloc(64, 2).toString("base64");

  it.each([
    ["$5$abc$def", /must start with \$6\$ or \$7\$/],
    ["$7$101$onlysalt", /expected \$7\$<iterations>\$<salt>\$<hash>/],
    [`$7$0$${salt}$${hash}`, /iterations must be an integer/],
    [`$7$1e3$${salt}$${hash}`, /iterations must be an integer/],
    [`$7$101$${Buffer.alloc(16).toString("base64")}$${hash}`, /salt decodes to 16 bytes/],
    [`$7$101$${salt}$${Buffer.alloc(32).toString("base64")}`, /hash decodes to 32 bytes/],
    [`$6$${salt}$${hash.slice(0, -2)}`, /hash is not valid base64/],
    [`$6$${salt}$${hash}$extra`, /expected \$6\$<salt>\$<hash>/],
    [`$6$sa!t$${hash}`, /salt is not valid base64/],
  ])("explains what is wrong with %s without quoting it", (stored, reason) => {
    const result = inspectMosquittoHash(stored);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(reason);
    expect(result.reason).not.toContain(hash);
  });
});

describe("hashes written by the real mosquitto_passwd", () => {
  it.skipIf(skipWithoutMosquittoPasswd)("verifies the default, -H sha512 and -I 1000 outputs", async () => {
    const users = [
      { username: "default", password: "correct horse" },
      { username: "sha512", password: "battery staple", hashAlgorithm: "sha512" as const },
      { username: "iter1000", password: "pässwörd ✓ with spaces", iterations: 1000 },
    ];
    const file = await generateMosquittoPasswd(users);
    const stored = new Map(
      file
        .trim()
        .split("\n")
        .map((line) => line.split(":") as [string, string]),
    );

    expect(stored.get("default")).toMatch(/^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(stored.get("sha512")).toMatch(/^\$6\$/);
    expect(stored.get("iter1000")).toMatch(/^\$7\$1000\$/);
    for (const { username, password } of users) {
      const hash = stored.get(username) ?? "";
      expect(await verifyWithFormat(hash, password), username).toBe(true);
      expect(await verifyWithFormat(hash, `${password}!`), username).toBe(false);
      expect(canExportToMosquitto(hash)).toBe(true);
    }
  });
});
