import argon2 from "argon2";
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import { hashArgon2id } from "../../src/passwords/argon2.js";
import { argon2Params, isArgon2id } from "../../src/passwords/formats/index.js";
import { createPasswordService } from "../../src/passwords/service.js";

const PASSWORD = "correct horse battery";
// Small but distinct values, so a parser that mixes up m, t and p cannot pass by accident.
const PROFILES: Config["argon2"] = {
  chosen: { memoryCost: 2048, timeCost: 3, parallelism: 2 },
  generated: { memoryCost: 1024, timeCost: 1, parallelism: 1 },
};
const passwords = createPasswordService(PROFILES);

const rawArgon2 = (type: 0 | 1 | 2, profile: { memoryCost: number; timeCost: number; parallelism: number }) =>
  argon2.hash(PASSWORD, { type, ...profile });

const params = (p: { memoryCost: number; timeCost: number; parallelism: number }) => ({
  m: p.memoryCost,
  t: p.timeCost,
  p: p.parallelism,
});

describe("argon2Params", () => {
  it("parses the argon2 package's own output, whose parameters come in the order m, p, t", async () => {
    const encoded = await rawArgon2(argon2.argon2id, PROFILES.chosen);
    expect(encoded).toMatch(/^\$argon2id\$v=19\$m=2048,p=2,t=3\$/);
    expect(argon2Params(encoded)).toEqual(params(PROFILES.chosen));
    expect(isArgon2id(encoded)).toBe(true);
  });

  it("parses the parameters in any order", () => {
    const expected = params(PROFILES.chosen);
    expect(argon2Params("$argon2id$v=19$t=3,m=2048,p=2$c2FsdHNhbHQ$aGFzaGhhc2g")).toEqual(expected);
    expect(argon2Params("$argon2id$v=19$m=2048,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g")).toEqual(expected);
  });

  it("reads back what hashArgon2id wrote", async () => {
    expect(argon2Params(await hashArgon2id(PASSWORD, PROFILES.generated))).toEqual(
      params(PROFILES.generated),
    );
  });

  it("tells argon2id from argon2i and argon2d", async () => {
    expect(isArgon2id(await rawArgon2(argon2.argon2i, PROFILES.chosen))).toBe(false);
    expect(isArgon2id(await rawArgon2(argon2.argon2d, PROFILES.chosen))).toBe(false);
  });

  it.each([
    ["a bcrypt hash", "$2b$10$abcdefghijklmnopqrstuuM1234567890abcdefghijklmnopqrstu"],
    ["a missing parameter", "$argon2id$v=19$m=2048,t=3$c2FsdHNhbHQ$aGFzaGhhc2g"],
    ["a repeated parameter", "$argon2id$v=19$m=2048,m=4096,p=2,t=3$c2FsdHNhbHQ$aGFzaGhhc2g"],
    ["a non-numeric parameter", "$argon2id$v=19$m=lots,p=2,t=3$c2FsdHNhbHQ$aGFzaGhhc2g"],
    ["plain text", "correct horse battery"],
    ["an empty string", ""],
  ])("returns null for %s", (_what, encoded) => {
    expect(argon2Params(encoded)).toBeNull();
  });
});

describe("password service: hash and verify", () => {
  it("hashes a chosen password with the full profile and a generated one with the light profile", async () => {
    const chosen = await passwords.hash(PASSWORD, "chosen");
    const generated = await passwords.hash(PASSWORD, "generated");
    expect(chosen).toMatchObject({ format: "argon2id", origin: "chosen" });
    expect(argon2Params(chosen.hash)).toEqual(params(PROFILES.chosen));
    expect(argon2Params(generated.hash)).toEqual(params(PROFILES.generated));
  });

  it("salts each hash", async () => {
    const a = await passwords.hash(PASSWORD, "chosen");
    const b = await passwords.hash(PASSWORD, "chosen");
    expect(a.hash).not.toBe(b.hash);
  });

  it("verifies the right password and refuses a wrong one", async () => {
    const { hash } = await passwords.hash(PASSWORD, "chosen");
    expect(await passwords.verify(hash, PASSWORD)).toBe(true);
    expect(await passwords.verify(hash, "correct horse batterY")).toBe(false);
    expect(await passwords.verify(hash, "")).toBe(false);
  });

  it("answers false, never throws, for a malformed stored hash", async () => {
    for (const stored of ["", "$argon2id$garbage", "$argon2id$v=19$m=2048,p=2,t=3$!!$!!", "not a hash"]) {
      await expect(passwords.verify(stored, PASSWORD)).resolves.toBe(false);
    }
  });
});

describe("password service: needsUpgrade", () => {
  it("is false for a hash at the configured profile of its origin", async () => {
    expect(passwords.needsUpgrade((await passwords.hash(PASSWORD, "chosen")).hash, "chosen")).toBe(false);
    expect(passwords.needsUpgrade((await passwords.hash(PASSWORD, "generated")).hash, "generated")).toBe(
      false,
    );
  });

  it("is false for a hash above the configured profile", async () => {
    const stronger = await rawArgon2(argon2.argon2id, { memoryCost: 4096, timeCost: 4, parallelism: 2 });
    expect(passwords.needsUpgrade(stronger, "chosen")).toBe(false);
  });

  it.each([
    ["memory", { ...PROFILES.chosen, memoryCost: 1024 }],
    ["time", { ...PROFILES.chosen, timeCost: 2 }],
  ])("is true for an argon2id hash with lower %s than configured", async (_what, profile) => {
    expect(passwords.needsUpgrade(await rawArgon2(argon2.argon2id, profile), "chosen")).toBe(true);
  });

  it("is true for a light generated-profile hash of a chosen password", async () => {
    expect(passwords.needsUpgrade((await passwords.hash(PASSWORD, "generated")).hash, "chosen")).toBe(true);
  });

  it("is true for argon2i, argon2d and non-argon2 hashes", async () => {
    expect(passwords.needsUpgrade(await rawArgon2(argon2.argon2i, PROFILES.chosen), "chosen")).toBe(true);
    expect(passwords.needsUpgrade(await rawArgon2(argon2.argon2d, PROFILES.chosen), "chosen")).toBe(true);
    expect(
      passwords.needsUpgrade("$2b$10$abcdefghijklmnopqrstuuM1234567890abcdefghijklmnopqrstu", "imported"),
    ).toBe(true);
    expect(passwords.needsUpgrade("5f4dcc3b5aa765d61d8327deb882cf99", "imported")).toBe(true);
  });
});
