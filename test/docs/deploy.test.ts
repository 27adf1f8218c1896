import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

/**
 * The image cannot be built on these machines (no Docker engine) and systemd does not run here, so
 * what can be checked is checked: every file the Dockerfile copies exists, both start the binary the
 * package declares, and every MQTT_AUTHD_* variable in the docs and deploy files is one the service
 * accepts.
 */

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const pkg = JSON.parse(read("package.json")) as { bin: Record<string, string> };

function variablesIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\bMQTT_AUTHD_[A-Z0-9_]+/g)].map((m) => m[0]))];
}

describe("deploy/", () => {
  it("Dockerfile copies only files that exist and runs the package's bin", () => {
    const dockerfile = read("deploy/Dockerfile");
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(" "));
    expect(copied.length).toBeGreaterThan(3);
    for (const path of copied) expect(existsSync(new URL(`../../${path}`, import.meta.url)), path).toBe(true);
    expect(dockerfile).toContain(`/app/${pkg.bin["mqtt-authd"]}`);
    expect(dockerfile).toMatch(/^USER mqtt-authd$/m);
    expect(dockerfile).toContain("/readyz");
  });

  it("systemd unit starts the package's bin with hardening", () => {
    const unit = read("deploy/mqtt-authd.service");
    expect(unit).toContain(`/opt/mqtt-authd/${pkg.bin["mqtt-authd"]} serve`);
    for (const setting of [
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "DynamicUser=yes",
      "KillSignal=SIGTERM",
    ]) {
      expect(unit).toContain(setting);
    }
  });

  it.each(["README.md", "deploy/Dockerfile", "deploy/mqtt-authd.service"])(
    "%s names only configuration variables the service accepts",
    (file) => {
      const names = variablesIn(read(file));
      expect(names.length).toBeGreaterThan(0);
      // Documented prefixes such as MQTT_AUTHD_ARGON2_GENERATED_ followed by `_TIME_COST` are table shorthand.
      const complete = names.filter(
        (n) => !n.endsWith("_") && !n.startsWith("MQTT_AUTHD_TEST_") && !n.startsWith("MQTT_AUTHD_BENCH_"),
      );
      for (const name of complete) {
        const value = name.endsWith("_FILE") ? "/dev/null" : "x";
        try {
          loadConfig({ [name]: value });
        } catch (err) {
          expect((err as Error).message, name).not.toMatch(/unknown variable/);
        }
      }
    },
  );
});
