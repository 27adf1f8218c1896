import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import {
  emqxAuthnSchema,
  emqxAuthzSchema,
  parseAuthnFields,
  parseAuthzFields,
} from "../../src/http/hooks/emqx.js";
import { parseOr400 } from "../../src/http/validate.js";

/**
 * /mqtt/auth and /mqtt/acl read well-formed bodies without zod: for any body, the answer (the fields,
 * or the 400 and its details) must be the schema's.
 */

const text = fc.oneof(
  fc.constantFrom(
    "",
    "dev1",
    "0",
    "1",
    "2",
    "3",
    "true",
    "false",
    "publish",
    "subscribe",
    "a/b",
    "x".repeat(65),
  ),
  fc.string({ maxLength: 8 }),
);
const value = fc.oneof(
  { weight: 6, arbitrary: text },
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 2 }), { maxLength: 2 }),
  fc.constant("x".repeat(65536)),
);
const KEYS = ["username", "password", "clientid", "peerhost", "topic", "action", "qos", "retain", "zone"];
/** Mostly well-formed bodies, each field sometimes off: both paths get exercised. */
const nearlyValid = fc.record(
  {
    username: text,
    password: text,
    clientid: text,
    peerhost: fc.constantFrom("10.0.0.1", "", "x".repeat(64), "x".repeat(65)),
    topic: fc.constantFrom("a/b", "", "#", "x".repeat(65536)),
    action: fc.constantFrom("publish", "subscribe", "all", 1),
    qos: fc.constantFrom(undefined, "0", "1", "2", "3", 1, null),
    retain: fc.constantFrom(undefined, "true", "false", "yes", true),
  },
  { requiredKeys: ["topic", "action"] },
);
const body = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(fc.constantFrom(...KEYS), value) },
  { weight: 8, arbitrary: nearlyValid },
  fc.constant(null),
  fc.constant([]),
  fc.constant("username=dev1"),
  fc.integer(),
);

function outcome(parse: () => unknown): unknown {
  try {
    return { ok: parse() };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { status: err.status, code: err.code, message: err.message, details: err.details };
  }
}

describe("EMQX hook fields read without zod", () => {
  it("authentication: the same fields, or the same 400, as emqxAuthnSchema", () => {
    fc.assert(
      fc.property(body, (b) => {
        expect(outcome(() => parseAuthnFields(b))).toEqual(
          outcome(() => parseOr400(emqxAuthnSchema, b, "authentication request")),
        );
      }),
      { numRuns: 5000 },
    );
  });

  it("authorization: the same fields, or the same 400, as emqxAuthzSchema", () => {
    fc.assert(
      fc.property(body, (b) => {
        expect(outcome(() => parseAuthzFields(b))).toEqual(
          outcome(() => parseOr400(emqxAuthzSchema, b, "authorization request")),
        );
      }),
      { numRuns: 5000 },
    );
  });
});
