import type { z } from "zod";
import { AppError } from "../errors.js";

/** Parses at the edge; a failure is a 400 whose details name each field and what is wrong with it. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what = "request"): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((i) => ({
    path: i.path.join("."),
    // zod's messages for type errors can echo the received value; keep only ours and the generic ones.
    message: i.code === "invalid_type" ? `expected ${i.expected}` : i.message,
  }));
  const first = details[0]!;
  throw new AppError(
    "invalid_request",
    `invalid ${what}: ${first.path ? `${first.path} ` : ""}${first.message}`,
    details,
  );
}
