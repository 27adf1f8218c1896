import { execFileSync } from "node:child_process";

/** Tests that spawn the real `mqtt-authd` process run the compiled dist/, so build it once first. */
export default function setup(): void {
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
