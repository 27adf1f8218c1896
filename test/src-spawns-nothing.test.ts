import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("src/", () => {
  // The service replaces `mosquitto_passwd -b FILE USER PASSWORD`, whose argv any local user can read.
  it("never spawns a process", () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(10);
    const spawning = files.filter((file) =>
      /["'](node:)?(child_process|cluster)["']|\bexeca\b|cross-spawn/.test(readFileSync(file, "utf8")),
    );
    expect(spawning).toEqual([]);
  });
});
