import request from "supertest";
import { bearer, type TestContext } from "./context.js";

const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Sums the samples of `name` whose labels include `labels`, as GET /metrics exposes them. */
export async function metricValue(
  ctx: TestContext,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await request(ctx.app).get("/metrics").set(bearer);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  let sum = 0;
  for (const line of res.text.split("\n")) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(LABEL)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(match[3]);
  }
  return sum;
}
