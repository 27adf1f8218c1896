import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  describeFormat,
  detectFormat,
  type HashFormat,
  verifyWithFormat,
} from "../../../src/passwords/formats/index.js";
import { mosquittoPbkdf2, sampleOfEveryFormat } from "../../fixtures/hashes.js";

const PASSWORD = "correct horse ✓";
let samples: Record<HashFormat, string>;

beforeAll(async () => {
  samples = await sampleOfEveryFormat(PASSWORD);
});

describe("verifyWithFormat across every format", () => {
  it("detects each sample as its own format", () => {
    for (const [format, stored] of Object.entries(samples)) expect(detectFormat(stored), format).toBe(format);
  });

  it("accepts the right password, as a string or as UTF-8 bytes", async () => {
    for (const [format, stored] of Object.entries(samples)) {
      expect(await verifyWithFormat(stored, PASSWORD), format).toBe(true);
      expect(await verifyWithFormat(stored, Buffer.from(PASSWORD)), format).toBe(true);
    }
  });

  it("refuses a wrong, an empty and a prefix password", async () => {
    for (const [format, stored] of Object.entries(samples)) {
      for (const wrong of ["correct horse", "", PASSWORD.toUpperCase(), `${PASSWORD} `]) {
        expect(await verifyWithFormat(stored, wrong), `${format} with ${JSON.stringify(wrong)}`).toBe(false);
      }
    }
  });

  it("answers false, never throws, for input of the wrong type", async () => {
    const stored = samples["mosquitto-sha512"];
    for (const password of [undefined, null, 42, {}, ["pw"]]) {
      expect(await verifyWithFormat(stored, password as unknown as string)).toBe(false);
    }
    for (const bad of [undefined, null, 42, {}, "x".repeat(100_000)]) {
      expect(detectFormat(bad as unknown as string)).toBeNull();
      expect(describeFormat(bad as unknown as string)).toBeNull();
      expect(await verifyWithFormat(bad as unknown as string, PASSWORD)).toBe(false);
    }
  });
});

describe("malformed stored strings", () => {
  it("random strings are no format and verify as false", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (stored) => {
        expect(detectFormat(stored)).toBeNull();
        expect(await verifyWithFormat(stored, PASSWORD)).toBe(false);
      }),
    );
  });

  it("damaged samples never throw", async () => {
    const formats = Object.keys(samples) as HashFormat[];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...formats),
        fc.nat(),
        // No digits: inserting them could turn a cheap argon2 m= into gigabytes.
        fc.string({ maxLength: 3, unit: fc.constantFrom(..."$,=.+/-_:aZ ") }),
        fc.nat({ max: 3 }),
        async (format, at, insert, cut) => {
          const stored = samples[format];
          const i = at % (stored.length + 1);
          const damaged = stored.slice(0, i) + insert + stored.slice(i + cut);
          const detected = detectFormat(damaged);
          expect(detected === null || typeof detected === "string").toBe(true);
          expect(typeof (await verifyWithFormat(damaged, PASSWORD))).toBe("boolean");
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("slow formats", () => {
  it("leave the event loop free while deriving", async () => {
    const stored = mosquittoPbkdf2("pw", Buffer.alloc(12, 7), 400_000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const ok = await verifyWithFormat(stored, "pw");
    const elapsedMs = performance.now() - started;
    clearInterval(timer);
    expect(ok).toBe(true);
    // A synchronous derivation would let no interval callback run until it finished.
    expect(ticks).toBeGreaterThanOrEqual(Math.min(3, Math.floor(elapsedMs / 20)));
    expect(elapsedMs).toBeGreaterThan(20);
  });
});
