import argon2 from "argon2";
import { describe, expect, it } from "vitest";
import {
  argon2Params,
  detectFormat,
  isArgon2id,
  needsRehash,
  verifyWithFormat,
} from "../../../src/passwords/formats/index.js";

const cheap = { memoryCost: 1024, timeCost: 2, parallelism: 1 };

describe("argon2", () => {
  it.each([
    ["argon2id", argon2.argon2id],
    ["argon2i", argon2.argon2i],
    ["argon2d", argon2.argon2d],
  ] as const)("verifies %s with whatever parameters it was made with", async (name, type) => {
    const stored = await argon2.hash("pw", { ...cheap, type });
    expect(detectFormat(stored)).toBe(name);
    expect(isArgon2id(stored)).toBe(name === "argon2id");
    expect(await verifyWithFormat(stored, "pw")).toBe(true);
    expect(await verifyWithFormat(stored, "pw ")).toBe(false);
  });

  it("verifies with production parameters (mosquitto's next-release default m=47104,t=1,p=1)", async () => {
    const stored = await argon2.hash("pw", {
      type: argon2.argon2id,
      memoryCost: 47104,
      timeCost: 1,
      parallelism: 1,
    });
    expect(await verifyWithFormat(stored, Buffer.from("pw"))).toBe(true);
  });

  it("reads m, t and p from the encoded string", async () => {
    const stored = await argon2.hash("pw", { ...cheap, type: argon2.argon2id });
    expect(argon2Params(stored)).toEqual({ m: 1024, t: 2, p: 1 });
    expect(argon2Params("$argon2id$v=19$m=4096,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g")).toEqual({
      m: 4096,
      t: 3,
      p: 2,
    });
    expect(argon2Params("$argon2id$v=19$m=4096,t=3$c2FsdHNhbHQ$aGFzaGhhc2g")).toBeNull();
    expect(argon2Params("$2b$04$abc")).toBeNull();
  });

  it("asks for a rehash below the target memory or passes, or for anything but argon2id", async () => {
    const stored = "$argon2id$v=19$m=4096,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g";
    expect(needsRehash(stored, { m: 4096, t: 3, p: 4 })).toBe(false);
    expect(needsRehash(stored, { m: 8192, t: 3, p: 2 })).toBe(true);
    expect(needsRehash(stored, { m: 4096, t: 4, p: 2 })).toBe(true);
    expect(needsRehash(stored.replace("argon2id", "argon2i"), { m: 1, t: 1, p: 1 })).toBe(true);
    expect(needsRehash("$6$whatever", { m: 1, t: 1, p: 1 })).toBe(true);
  });

  it("refuses costs beyond RFC 9106's largest recommendation rather than run them", async () => {
    const huge = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
    expect(detectFormat(huge)).toBeNull();
    expect(await verifyWithFormat(huge, "pw")).toBe(false);
    expect(detectFormat("$argon2id$v=19$m=65536,t=1001,p=1$c2FsdHNhbHQ$aGFzaGhhc2g")).toBeNull();
  });

  it("answers false for parameters libargon2 refuses", async () => {
    const tooSmallMemory = "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
    expect(detectFormat(tooSmallMemory)).toBe("argon2id");
    expect(await verifyWithFormat(tooSmallMemory, "pw")).toBe(false);
  });
});
