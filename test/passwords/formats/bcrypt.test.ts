import bcrypt from "bcrypt";
import { describe, expect, it } from "vitest";
import { describeFormat, detectFormat, verifyWithFormat } from "../../../src/passwords/formats/index.js";

describe("bcrypt", () => {
  it("verifies hashes from the bcrypt package", async () => {
    const stored = await bcrypt.hash("correct horse", 4);
    expect(stored.startsWith("$2b$04$")).toBe(true);
    expect(detectFormat(stored)).toBe("bcrypt");
    expect(await verifyWithFormat(stored, "correct horse")).toBe(true);
    expect(await verifyWithFormat(stored, "correct horsf")).toBe(false);
    expect(describeFormat(stored)).toEqual({ format: "bcrypt", fastDigest: false });
  });

  // PHP writes $2y$ and older libraries $2a$; for passwords under 255 bytes all three agree.
  it.each(["$2a$", "$2y$"])("verifies the %s spelling of the same hash", async (prefix) => {
    const stored = `${prefix}${(await bcrypt.hash("pw", 4)).slice(4)}`;
    expect(detectFormat(stored)).toBe("bcrypt");
    expect(await verifyWithFormat(stored, "pw")).toBe(true);
    expect(await verifyWithFormat(stored, "pW")).toBe(false);
  });

  it("rejects variants and shapes bcrypt does not define", async () => {
    const good = await bcrypt.hash("pw", 4);
    for (const stored of [
      `$2x$${good.slice(4)}`,
      good.replace("$04$", "$03$"),
      good.slice(0, -1),
      `${good}A`,
    ]) {
      expect(detectFormat(stored), stored).toBeNull();
      expect(await verifyWithFormat(stored, "pw")).toBe(false);
    }
  });
});
