import { createHash, pbkdf2Sync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { inspectEmqxHash } from "../../../src/passwords/formats/emqx.js";
import {
  describeFormat,
  detectFormat,
  encodeEmqxHash,
  isStorableEmqxAlgorithm,
  verifyWithFormat,
} from "../../../src/passwords/formats/index.js";
import { emqxPbkdf2, emqxSimple } from "../../fixtures/hashes.js";

const hex = (algorithm: string, data: string) => createHash(algorithm).update(data, "utf8").digest("hex");

describe("EMQX simple hashes", () => {
  it("wraps EMQX's documented import example (sha256, prefix salt) and verifies it", async () => {
    // emqx-http-auth.md §4 / EMQX docs: myuser3's row; its clear text is not published, so
    // the expected hash is recomputed for a password we choose, with the same salt.
    const salt = "de1024f462fb83910fd13151bd4bd235";
    const encoded = encodeEmqxHash({
      algorithm: "sha256",
      saltPosition: "prefix",
      salt,
      hash: hex("sha256", `${salt}pw`),
    });
    expect(encoded).toEqual({
      ok: true,
      value: `$emqx-sha256$prefix$${Buffer.from(salt).toString("base64url")}$${hex("sha256", `${salt}pw`)}`,
    });
    if (!encoded.ok) return;
    expect(detectFormat(encoded.value)).toBe("emqx-sha256");
    expect(await verifyWithFormat(encoded.value, "pw")).toBe(true);
    expect(await verifyWithFormat(encoded.value, "pW")).toBe(false);
    expect(describeFormat(encoded.value)?.fastDigest).toBe(true);
  });

  it.each([
    ["md5", "md5"],
    ["sha", "sha1"],
    ["sha256", "sha256"],
    ["sha512", "sha512"],
  ] as const)("computes %s for every salt position", async (algorithm, digest) => {
    for (const saltPosition of ["prefix", "suffix", "disable"] as const) {
      const salt = "s@lt$with:odd,chars ✓";
      const data = saltPosition === "prefix" ? `${salt}pw` : saltPosition === "suffix" ? `pw${salt}` : "pw";
      const encoded = encodeEmqxHash({
        algorithm,
        saltPosition,
        salt,
        hash: hex(digest, data).toUpperCase(),
      });
      expect(encoded.ok).toBe(true);
      if (!encoded.ok) return;
      expect(encoded.value).toBe(emqxSimple("pw", digest, saltPosition, salt));
      expect(await verifyWithFormat(encoded.value, "pw"), `${algorithm} ${saltPosition}`).toBe(true);
      expect(await verifyWithFormat(encoded.value, "wp"), `${algorithm} ${saltPosition}`).toBe(false);
    }
  });

  it("does not truncate at NUL: EMQX hashes the CONNECT password bytes as they are", async () => {
    const stored = emqxSimple("a\u0000b", "sha256", "prefix", "s");
    expect(await verifyWithFormat(stored, "a\u0000b")).toBe(true);
    expect(await verifyWithFormat(stored, "a")).toBe(false);
  });

  it.each([
    [
      { algorithm: "sha256", saltPosition: "prefix", salt: "s", hash: "zz" },
      "password_hash is not hexadecimal",
    ],
    [
      { algorithm: "sha256", saltPosition: "prefix", salt: "s", hash: "abcd" },
      "password_hash must be 64 hex characters",
    ],
    [
      { algorithm: "md5", salt: "s", hash: "00".repeat(16) },
      "md5 needs salt_position prefix, suffix or disable",
    ],
    [{ algorithm: "pbkdf2", salt: "s", hash: "00".repeat(32), iterations: 10 }, "pbkdf2 needs mac_fun"],
    [{ algorithm: "pbkdf2", macFun: "sha256", salt: "s", hash: "00".repeat(32) }, "pbkdf2 needs iterations"],
    [{ algorithm: "bcrypt", hash: "$2b$10$short" }, "password_hash is not a bcrypt hash"],
  ] as const)("refuses %j", (input, reason) => {
    const result = encodeEmqxHash(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("keeps bcrypt exports as the plain bcrypt strings they are", () => {
    const bcrypt = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    expect(
      encodeEmqxHash({ algorithm: "bcrypt", salt: "$2b$10$N9qo8uLOickgx2ZMRZoMye", hash: bcrypt }),
    ).toEqual({
      ok: true,
      value: bcrypt,
    });
  });

  it("never stores EMQX's plain algorithm", () => {
    expect(isStorableEmqxAlgorithm("plain")).toBe(false);
    expect(isStorableEmqxAlgorithm("sha256")).toBe(true);
  });
});

describe("EMQX pbkdf2", () => {
  it.each([
    ["sha", "sha1", 20],
    ["sha224", "sha224", 28],
    ["sha256", "sha256", 32],
    ["sha384", "sha384", 48],
    ["sha512", "sha512", 64],
  ] as const)("defaults dk_length to the %s digest size", async (macFun, digest, size) => {
    const hash = pbkdf2Sync("pw", "salt", 100, size, digest).toString("hex");
    const encoded = encodeEmqxHash({ algorithm: "pbkdf2", macFun, iterations: 100, salt: "salt", hash });
    expect(encoded).toEqual({ ok: true, value: emqxPbkdf2("pw", digest, 100, size, "salt") });
    if (encoded.ok) expect(await verifyWithFormat(encoded.value, "pw")).toBe(true);
  });

  it("honours an explicit dk_length", async () => {
    const hash = pbkdf2Sync("pw", "salt", 100, 40, "sha256").toString("hex");
    const encoded = encodeEmqxHash({
      algorithm: "pbkdf2",
      macFun: "sha256",
      iterations: 100,
      dkLength: 40,
      salt: "salt",
      hash,
    });
    expect(encoded.ok && (await verifyWithFormat(encoded.value, "pw"))).toBe(true);
    const mismatched = encodeEmqxHash({
      algorithm: "pbkdf2",
      macFun: "sha256",
      iterations: 100,
      salt: "salt",
      hash,
    });
    expect(mismatched).toEqual({ ok: false, reason: "password_hash must be 64 hex characters" });
  });
});

describe("our $emqx- stored strings", () => {
  const zeros = (bytes: number) => "00".repeat(bytes);
  it.each([
    [`$emqx-sha256$middle$c2FsdA$${zeros(32)}`, "salt position must be prefix, suffix or disable"],
    [`$emqx-sha256$disable$c2FsdA$${zeros(32)}`, "a salt with position disable must be empty"],
    [`$emqx-sha256$prefix$c2Fsd+A$${zeros(32)}`, "salt is not base64url"],
    [`$emqx-sha256$prefix$c2FsdA$${zeros(31)}`, "password_hash must be 64 hex characters"],
    [`$emqx-sha384$prefix$c2FsdA$${zeros(48)}`, "unknown EMQX digest"],
    [`$emqx-pbkdf2$md5$1000$16$c2FsdA$${zeros(16)}`, "unknown pbkdf2 digest"],
    [`$emqx-pbkdf2$sha256$1000$32$c2FsdA$${zeros(16)}`, "password_hash must be 64 hex characters"],
    [`$emqx-pbkdf2$sha256$0$32$c2FsdA$${zeros(32)}`, "iterations must be an integer"],
    [`$emqx-sha256$prefix$c2FsdA$${zeros(32)}$`, "malformed EMQX sha256 hash"],
  ])("does not recognise %s", async (stored, reason) => {
    const inspected = inspectEmqxHash(stored);
    expect(inspected.ok).toBe(false);
    if (!inspected.ok) expect(inspected.reason).toContain(reason);
    expect(detectFormat(stored)).toBeNull();
    expect(await verifyWithFormat(stored, "pw")).toBe(false);
  });
});
