import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { argon2Params } from "../../src/passwords/formats/index.js";
import { authDecision, provision } from "../helpers/api.js";
import { createTestContext, type TestContext } from "../helpers/context.js";

/** The argon2 settings a deployment gets when it sets none (createTestContext otherwise makes them cheap). */
function productionArgon2Env(): Record<string, string> {
  const { chosen, generated } = loadConfig({}).argon2;
  return {
    MQTT_AUTHD_ARGON2_MEMORY_KIB: String(chosen.memoryCost),
    MQTT_AUTHD_ARGON2_TIME_COST: String(chosen.timeCost),
    MQTT_AUTHD_ARGON2_PARALLELISM: String(chosen.parallelism),
    MQTT_AUTHD_ARGON2_GENERATED_MEMORY_KIB: String(generated.memoryCost),
    MQTT_AUTHD_ARGON2_GENERATED_TIME_COST: String(generated.timeCost),
    MQTT_AUTHD_ARGON2_GENERATED_PARALLELISM: String(generated.parallelism),
  };
}

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext(productionArgon2Env());
});
afterEach(() => ctx.close());

describe("argon2id with the production default parameters", () => {
  it("hashes a chosen password with at least OWASP's m=19456, t=2, p=1 and /mqtt/auth allows it", async () => {
    const password = "a password a person chose";
    await provision(ctx, { username: "dev1", password });
    const stored = (await ctx.services.store.findClient("dev1"))!;
    expect(stored.passwordHash).toMatch(/^\$argon2id\$v=19\$/);
    expect(argon2Params(stored.passwordHash)).toEqual({ m: 19456, t: 2, p: 1 });
    expect(ctx.services.passwords.needsUpgrade(stored.passwordHash, "chosen")).toBe(false);

    expect(await authDecision(ctx, { username: "dev1", password })).toMatchObject({ result: "allow" });
    expect(await authDecision(ctx, { username: "dev1", password: "a password a person chosE" })).toEqual({
      result: "deny",
    });
  });

  it("hashes a generated secret with the light m=256, t=1, p=1 and /mqtt/auth allows it", async () => {
    const password = (await provision(ctx, { username: "dev2" })).password ?? "";
    expect(password.length).toBeGreaterThanOrEqual(32);
    const stored = (await ctx.services.store.findClient("dev2"))!;
    expect(stored.passwordOrigin).toBe("generated");
    expect(argon2Params(stored.passwordHash)).toEqual({ m: 256, t: 1, p: 1 });
    expect(ctx.services.passwords.needsUpgrade(stored.passwordHash, "generated")).toBe(false);
    expect(await authDecision(ctx, { username: "dev2", password })).toMatchObject({ result: "allow" });
  });
});
