import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERNEMQ_HOOKS } from "../../src/http/hooks/vernemq.js";
import { authDecision, provision } from "../helpers/api.js";
import {
  ADMIN_TOKEN,
  bearer,
  createTestContext,
  HOOK_SECRET,
  hookHeaders,
  SECRET_HEADER,
  type TestContext,
} from "../helpers/context.js";
import { createRawClient, percentEncode, type RawRequest, type RawResponse } from "../helpers/raw-http.js";

/**
 * Every endpoint against random, malformed and hostile input (fast-check): wrong content types,
 * bodies near and over the limits, 10,000-deep nesting, invalid UTF-8, NUL bytes, over-long
 * usernames and topics, SQL metacharacters, bad credentials. Whatever arrives, the answer is a 4xx
 * in the JSON error shape, or for the broker hooks a 200 deny/ignore, never an allow; never a 5xx
 * or a hang; and a refused request leaves every table exactly as it was.
 */

const PASSWORD = "correct horse battery";
const SEEDED_CLIENT = "dev1";
const SEEDED_ROLE = "fuzz-role";
// Nothing random ever produces this exact topic: garbage can never be allowed.
const ALLOWED_TOPIC = "fuzz/allowed/7f3a9c";
const HOOK_LIMIT = 200 * 1024;
const API_LIMIT = 64 * 1024;

let ctx: TestContext;
let raw: ReturnType<typeof createRawClient>;
let closeServer: () => Promise<void>;
let cases = 0;
let acceptedWrites = 0;

beforeAll(async () => {
  ctx = await createTestContext({
    MQTT_AUTHD_LOG_LEVEL: "warn",
    // The warm-up below guesses one username 300 times; lockouts have their own tests.
    MQTT_AUTHD_LOCKOUT_PAIR_THRESHOLD: "1000000",
    MQTT_AUTHD_LOCKOUT_USERNAME_THRESHOLD: "1000000",
  });
  await provision(ctx, { username: SEEDED_CLIENT, password: PASSWORD });
  await request(ctx.app).post("/api/v1/roles").set(bearer).send({ name: SEEDED_ROLE }).expect(201);
  await request(ctx.app)
    .put(`/api/v1/clients/${SEEDED_CLIENT}/acl`)
    .set(bearer)
    .send({
      roles: [SEEDED_ROLE],
      rules: [{ permission: "allow", action: "publish", topic: `eq ${ALLOWED_TOPIC}` }],
    })
    .expect(200);
  // Answers that need no hash wait as long as recent real verifies took (so they cannot be told
  // apart). Real verifies with the test's cheap argon2 profile teach it that a verify is quick.
  for (let i = 0; i < 300; i++) {
    await ctx.services.authenticate({
      username: SEEDED_CLIENT,
      password: `warm-up-${i}`,
      clientid: "c1",
      peerhost: "192.0.2.1",
    });
  }
  const server = createServer(ctx.app).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  closeServer = () => new Promise((resolve) => server.close(() => resolve()));
  raw = createRawClient({ host: "127.0.0.1", port: (server.address() as AddressInfo).port });
});

afterAll(async () => {
  console.log(`fuzz: ${cases} cases (${acceptedWrites} accepted as valid writes)`);
  raw?.close();
  await closeServer?.();
  await ctx?.close();
});

/** Every table, to prove a rejected request changed nothing (failed logins counted only: they are a log). */
const snapshot = () =>
  ctx.db.snapshot({ summarized: ["login_failures"], ignoredColumns: { admin_tokens: ["last_used_at"] } });

// ---- what the hostile client sends ------------------------------------------------------------

const SQL = [
  "' OR 1=1 --",
  '"; DROP TABLE mqtt_clients; --',
  "dev1' --",
  "') OR ('1'='1",
  "1; DELETE FROM admin_tokens",
  "%' OR username LIKE '%",
  "dev1' AND password_hash LIKE '$argon2%",
  "x'); UPDATE mqtt_clients SET is_superuser = 1; --",
];
const SPECIAL = [
  "",
  " ",
  "\u0000",
  "dev1\u0000",
  "\ud800",
  "\udfff\ud800",
  "💥",
  "\u202e\u0000\u200b",
  "../../etc/passwd",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ACL placeholder, as a hostile client sends it
  "${username}",
  "#",
  "+/#",
  "$SYS/#",
  "\r\n",
  "null",
  "__proto__",
  "constructor",
  SEEDED_CLIENT,
  ` ${SEEDED_CLIENT}`,
  "DEV1",
];

const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 32 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 32 }) },
  { weight: 3, arbitrary: fc.constantFrom(...SQL, ...SPECIAL) },
  { weight: 1, arbitrary: fc.constantFrom(64, 65, 256, 257, 1025, 65535, 65536).map((n) => "u".repeat(n)) },
);

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** The fields the hooks and the API know, with hostile values, and sometimes strangers. */
const fieldsOf = (value: fc.Arbitrary<unknown>) =>
  fc.record(
    {
      username: value,
      password: value,
      clientid: value,
      peerhost: value,
      topic: value,
      action: fc.oneof(fc.constantFrom("publish", "subscribe", "all", "PUBLISH"), value),
      qos: fc.oneof(fc.constantFrom("0", "1", "2", "3", "-1", 0, 2), value),
      retain: fc.oneof(fc.constantFrom("true", "false", "1", true), value),
      name: value,
      rules: value,
      roles: value,
      enabled: value,
      description: value,
      limit: value,
    },
    { requiredKeys: [] },
  );
const knownFields = fieldsOf(nastyValue);

const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"];
const FORM_TYPE = "application/x-www-form-urlencoded";
const OTHER_TYPES = [
  "text/plain",
  "multipart/form-data; boundary=fuzz",
  "application/xml",
  "application/octet-stream",
  "application/json; charset=latin1",
  "application/json; charset=utf-16le",
  `${FORM_TYPE}; charset=iso-8859-1`,
  "application/merge-patch+json",
  "*/*",
  "json",
  ";;;",
];

interface Payload {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly body?: Buffer;
}

const formOf = (fields: Record<string, unknown>) =>
  Object.entries(fields)
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(typeof v === "string" ? v : JSON.stringify(v))}`)
    .join("&");

const deeplyNested = (depth: number, shape: "array" | "object" | "field") => {
  if (shape === "array") return `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const inner = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  return shape === "object" ? inner : `{"username":"x","password":${inner}}`;
};

/** A JSON body whose total size is `limit + offset` bytes. */
const sizedJson = (limit: number, offset: number) => {
  const frame = '{"username":"x","password":""}';
  return `{"username":"x","password":"${"p".repeat(Math.max(0, limit + offset - frame.length))}"}`;
};

const INVALID_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
];

/** Any body at all, for an endpoint whose size limit is `limit`. */
const payload = (
  limit: number,
  fields: fc.Arbitrary<Record<string, unknown>> = knownFields,
): fc.Arbitrary<Payload> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(fields, fc.constantFrom(...JSON_TYPES, FORM_TYPE)).map(([fields, contentType]) => ({
        contentType,
        body: Buffer.from(contentType === FORM_TYPE ? formOf(fields) : JSON.stringify(fields)),
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(...JSON_TYPES))
        .map(([value, contentType]) => ({
          contentType,
          body: Buffer.from(JSON.stringify(value) ?? "null"),
        })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.uint8Array({ maxLength: 512 }),
          fc.option(fc.constantFrom(...JSON_TYPES, FORM_TYPE, ...OTHER_TYPES)),
        )
        .map(([bytes, contentType]) => ({
          ...(contentType !== null && { contentType }),
          body: Buffer.from(bytes),
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fields, fc.constantFrom(...OTHER_TYPES))
        .map(([fields, contentType]) => ({ contentType, body: Buffer.from(JSON.stringify(fields)) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(100, 1000, 10_000),
          fc.constantFrom("array", "object", "field") as fc.Arbitrary<"array" | "object" | "field">,
        )
        .map(([depth, shape]) => ({
          contentType: "application/json",
          body: Buffer.from(deeplyNested(depth, shape)),
        })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(-64, -1, 0, 1, 4096).map((offset) => ({
        contentType: "application/json",
        body: Buffer.from(sizedJson(limit, offset)),
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...INVALID_UTF8), fc.constantFrom("value", "key", "form"))
        .map(([bad, where]) => {
          if (where === "form") {
            return {
              contentType: FORM_TYPE,
              body: Buffer.concat([Buffer.from("username="), bad, Buffer.from("&password=x")]),
            };
          }
          const parts =
            where === "key" ? ['{"', '":"x","password":"y"}'] : ['{"username":"', '","password":"y"}'];
          return {
            contentType: "application/json",
            body: Buffer.concat([Buffer.from(parts[0]!), bad, Buffer.from(parts[1]!)]),
          };
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom("gzip", "deflate", "br", "x-unknown", "gzip, gzip"),
          fc.uint8Array({ maxLength: 64 }),
        )
        .map(([contentEncoding, bytes]) => ({
          contentType: "application/json",
          contentEncoding,
          body: Buffer.from(bytes),
        })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Payload>(
        {},
        { contentType: "application/json" },
        { contentType: "application/json", body: Buffer.alloc(0) },
        { contentType: "application/json", body: Buffer.from("null") },
        { contentType: "application/json", body: Buffer.from('"just a string"') },
        { contentType: "application/json", body: Buffer.from('{"username": "x",') },
        {
          contentType: "application/json",
          body: Buffer.from('{"__proto__": {"is_superuser": true}, "username": "p"}'),
        },
        { contentType: FORM_TYPE, body: Buffer.from("username=a&username=b&password=c") },
        {
          contentType: FORM_TYPE,
          body: Buffer.from(Array.from({ length: 1500 }, (_, i) => `k${i}=v`).join("&")),
        },
      ),
    },
  );

/**
 * Node refuses a request line and headers over 16 KiB (431) before the app sees it, and this file
 * serves the app without serve.ts's clientError handler; the URL-bound generators stay below that,
 * so the app's own handling is what gets fuzzed (over-long URLs against the real server have their
 * own test in test/security/headers-and-limits.test.ts).
 */
const MAX_URL_PART = 4000;
const fitsUrl = (s: string) => s.length <= MAX_URL_PART;
const urlString = nastyString.filter((s) => Buffer.byteLength(s) * 3 <= MAX_URL_PART);

const queryString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fieldsOf(fc.oneof(urlString, fc.jsonValue({ maxDepth: 1 })))
      .map(formOf)
      .filter(fitsUrl),
  },
  {
    weight: 1,
    arbitrary: fc.dictionary(urlString, urlString, { maxKeys: 4 }).map(formOf),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "%",
      "%%",
      "%FF%FE",
      "username=%E0%A4%A",
      "username=a&username=b",
      "username[x]=1",
      "=&=&",
      "&&&",
      "username=%00&password=%00",
      "limit=1e309",
      "limit=-1",
      "limit=0x10",
      "all=TRUE",
    ),
  },
);

const pathSegment = (exclude: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: urlString.filter((s) => !exclude.includes(s)).map(percentEncode) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("%", "%FF", "%E0%A4%A", "%00", "%2F", "..", ".", "%2e%2e", "a%20", "%C0%AF"),
    },
  );

// ---- what every answer must look like -----------------------------------------------------------

const describeRequest = (req: RawRequest) =>
  `${req.method} ${req.path.slice(0, 120)} [${req.headers?.["content-type"] ?? "no content type"}] ${
    req.body?.subarray(0, 80).toString("utf8") ?? ""
  }`;

function expectJson(res: RawResponse, label: string): unknown {
  expect(res.headers["content-type"], label).toMatch(/^application\/json(;|$)/);
  return JSON.parse(res.text) as unknown;
}

function expectErrorShape(res: RawResponse, label: string): void {
  expect(res.status, `${label} → ${res.status} ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${label} → ${res.status} ${res.text.slice(0, 200)}`).toBeLessThan(500);
  const body = expectJson(res, label) as { error?: { code?: unknown; message?: unknown } };
  expect(Object.keys(body), label).toEqual(["error"]);
  expect(typeof body.error?.code, label).toBe("string");
  expect(typeof body.error?.message, label).toBe("string");
  for (const key of Object.keys(body.error ?? {}))
    expect(["code", "message", "details"], label).toContain(key);
}

/** Sends one case, noting whether any table changed (bookkeeping written off the request path first). */
async function exchange(req: RawRequest): Promise<{ res: RawResponse; changed: boolean; label: string }> {
  await ctx.services.events.flush();
  const before = await snapshot();
  const res = await raw.send(req);
  await ctx.services.events.flush();
  cases++;
  return { res, changed: (await snapshot()) !== before, label: describeRequest(req) };
}

function withPayload(method: string, path: string, p: Payload, headers: Record<string, string>): RawRequest {
  return {
    method,
    path,
    headers: {
      ...headers,
      ...(p.contentType !== undefined && { "content-type": p.contentType }),
      ...(p.contentEncoding !== undefined && { "content-encoding": p.contentEncoding }),
    },
    ...(p.body !== undefined && { body: p.body }),
  };
}

// ---- the endpoints ------------------------------------------------------------------------------

interface Route {
  readonly method: string;
  /** ":p" is replaced by a (hostile) path segment. */
  readonly path: string;
}

const API_ROUTES: readonly Route[] = [
  { method: "GET", path: "/api/v1/clients" },
  { method: "POST", path: "/api/v1/clients" },
  { method: "GET", path: "/api/v1/clients/:p" },
  { method: "PATCH", path: "/api/v1/clients/:p" },
  { method: "DELETE", path: "/api/v1/clients/:p" },
  { method: "POST", path: "/api/v1/clients/:p/password" },
  { method: "GET", path: "/api/v1/clients/:p/acl" },
  { method: "PUT", path: "/api/v1/clients/:p/acl" },
  { method: "GET", path: "/api/v1/clients/:p/acl/check" },
  { method: "GET", path: "/api/v1/roles" },
  { method: "POST", path: "/api/v1/roles" },
  { method: "GET", path: "/api/v1/roles/:p" },
  { method: "PUT", path: "/api/v1/roles/:p" },
  { method: "DELETE", path: "/api/v1/roles/:p" },
  { method: "GET", path: "/api/v1/lockouts" },
  { method: "DELETE", path: "/api/v1/lockouts" },
  { method: "GET", path: "/api/v1/login-failures" },
  { method: "GET", path: "/api/v1/audit" },
  { method: "POST", path: "/api/v1/import" },
  { method: "POST", path: "/api/v1/import/:p" },
  { method: "GET", path: "/api/v1/openapi.json" },
  { method: "GET", path: "/metrics" },
];
const HOOK_ROUTES = ["/mqtt/auth", "/mqtt/acl"];
const OPS_ROUTES = ["/healthz", "/readyz"];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const isRead = (method: string) => method === "GET" || method === "HEAD";

/** Write routes on the seeded client and role, reached with bodies no schema can accept. */
const SEEDED_WRITES: readonly Route[] = [
  { method: "POST", path: "/api/v1/clients" },
  { method: "PATCH", path: `/api/v1/clients/${SEEDED_CLIENT}` },
  { method: "POST", path: `/api/v1/clients/${SEEDED_CLIENT}/password` },
  { method: "PUT", path: `/api/v1/clients/${SEEDED_CLIENT}/acl` },
  { method: "POST", path: "/api/v1/roles" },
  { method: "PUT", path: `/api/v1/roles/${SEEDED_ROLE}` },
  { method: "POST", path: "/api/v1/import" },
];

/** Bodies invalid by construction for every strict schema: never a plain object of known fields only. */
const invalidBody: fc.Arbitrary<Payload> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(knownFields, nastyValue).map(([fields, stranger]) => ({
      contentType: "application/json",
      body: Buffer.from(JSON.stringify({ ...fields, __fuzz_unknown_field: stranger })),
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.jsonValue({ maxDepth: 2 })),
      )
      .map((value) => ({ contentType: "application/json", body: Buffer.from(JSON.stringify(value)) })),
  },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 40 }).map((tail) => ({
      contentType: "application/json",
      body: Buffer.from(`{"description": "x", ${tail}`),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...OTHER_TYPES).map((contentType) => ({
      contentType,
      body: Buffer.from('{"description":"changed","enabled":false}'),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(1, 4096).map((offset) => ({
      contentType: "application/json",
      body: Buffer.from(`{"description":"${"d".repeat(API_LIMIT + offset)}"}`),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("array", "object", "field").map((shape) => ({
      contentType: "application/json",
      body: Buffer.from(deeplyNested(10_000, shape as "array" | "object" | "field")),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...INVALID_UTF8).map((bad) => ({
      contentType: "application/json",
      body: Buffer.concat([Buffer.from('{"description":"'), bad, Buffer.from('","__fuzz":1}')]),
    })),
  },
);

const authorization: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    "",
    "Bearer",
    "Bearer ",
    `Bearer ${ADMIN_TOKEN}x`,
    `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
    `Bearer x${ADMIN_TOKEN}`,
    `Bearer ${ADMIN_TOKEN},Bearer ${ADMIN_TOKEN}`,
    `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}`,
    `Token ${ADMIN_TOKEN}`,
    `Bearer ${"a".repeat(513)}`,
    "Bearer ' OR 1=1 --",
  ),
  fc.string({ unit: "binary-ascii", maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
  fc.string({ unit: "binary-ascii", maxLength: 80 }).map((s) => `Bearer ${s.replace(/[^\x21-\x7e]/g, "")}`),
);

// ---- the properties -----------------------------------------------------------------------------

describe("fuzz: the broker hooks answer garbage with a 4xx or a 200 deny/ignore, never an allow", () => {
  it("/mqtt/auth and /mqtt/acl: JSON, form and GET, any body, any query, any secret header", async () => {
    const secretHeader = fc.oneof(
      { weight: 12, arbitrary: fc.constant<string | undefined>(HOOK_SECRET) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<string | undefined>(
          undefined,
          "",
          "wrong",
          `${HOOK_SECRET}x`,
          HOOK_SECRET.toUpperCase(),
        ),
      },
    );
    const method = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom("POST", "GET") },
      { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...HOOK_ROUTES),
        method,
        secretHeader,
        payload(HOOK_LIMIT),
        queryString,
        fc.boolean(),
        async (route, m, secret, body, query, bodyOnGet) => {
          const path = m === "GET" && query !== "" ? `${route}?${query}` : route;
          const headers = secret === undefined ? {} : { [SECRET_HEADER]: secret };
          const req =
            m === "GET" && !bodyOnGet ? { method: m, path, headers } : withPayload(m, path, body, headers);
          const { res, changed, label } = await exchange(req);
          if (res.status === 200 && secret === HOOK_SECRET && (m === "GET" || m === "POST")) {
            const answer = expectJson(res, label) as { result?: unknown };
            expect(answer, label).toEqual({ result: expect.stringMatching(/^(deny|ignore)$/) });
            return;
          }
          expectErrorShape(res, label);
          expect(changed, `${label}: a refused hook request changed the database`).toBe(false);
        },
      ),
      { numRuns: 800 },
    );
  });
});

describe("fuzz: the provisioning API answers garbage with a 4xx and changes nothing", () => {
  it("every route with hostile path segments, queries and bodies", async () => {
    const route = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...API_ROUTES) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(...METHODS), fc.constantFrom(...API_ROUTES))
          .map(([method, r]): Route => ({ method, path: r.path })),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        route,
        pathSegment([SEEDED_CLIENT, SEEDED_ROLE]),
        queryString,
        payload(API_LIMIT),
        async (r, segment, query, body) => {
          const path = `${r.path.replace(":p", segment)}${query === "" ? "" : `?${query}`}`;
          const req = isRead(r.method)
            ? { method: r.method, path, headers: bearer }
            : withPayload(r.method, path, body, bearer);
          const { res, changed, label } = await exchange(req);
          expect(res.status, `${label} → ${res.text.slice(0, 200)}`).toBeLessThan(500);
          if (res.status >= 400) {
            expectErrorShape(res, label);
            expect(changed, `${label}: a refused request changed the database`).toBe(false);
            return;
          }
          if (res.status !== 204 && !r.path.startsWith("/metrics")) expectJson(res, label);
          if (isRead(r.method)) expect(changed, `${label}: a read changed the database`).toBe(false);
          else acceptedWrites++;
        },
      ),
      { numRuns: 600 },
    );
  });

  it("writes to an existing client and role with bodies no schema accepts", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SEEDED_WRITES), invalidBody, async (r, body) => {
        const { res, changed, label } = await exchange(withPayload(r.method, r.path, body, bearer));
        expectErrorShape(res, label);
        expect(changed, `${label}: a refused request changed the database`).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("reads with hostile query parameters answer 200 or 4xx and change nothing", async () => {
    const reads = API_ROUTES.filter((r) => isRead(r.method));
    const keys = fc.constantFrom(
      "limit",
      "after",
      "state",
      "is_superuser",
      "prefix",
      "username",
      "peerhost",
      "all",
      "target",
      "clientid",
      "action",
      "topic",
      "qos",
      "retain",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...reads),
        fc.dictionary(fc.oneof(keys, urlString), urlString, { maxKeys: 4 }),
        async (r, params) => {
          const path = `${r.path.replace(":p", SEEDED_CLIENT)}?${formOf(params)}`;
          const { res, changed, label } = await exchange({ method: "GET", path, headers: bearer });
          if (res.status !== 200) expectErrorShape(res, label);
          else if (!r.path.startsWith("/metrics")) expectJson(res, label);
          expect(changed, `${label}: a read changed the database`).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("without a valid bearer token every API route (but the public OpenAPI document) answers 401, changing nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        // The OpenAPI document is public by design: it describes the API and holds no data.
        fc.constantFrom(...API_ROUTES.filter((r) => r.path !== "/api/v1/openapi.json")),
        authorization,
        payload(API_LIMIT),
        async (r, auth, body) => {
          const headers = auth === undefined ? {} : { authorization: auth };
          const path = r.path.replace(":p", SEEDED_CLIENT);
          const req = isRead(r.method)
            ? { method: r.method, path, headers }
            : withPayload(r.method, path, body, headers);
          const { res, changed, label } = await exchange(req);
          expectErrorShape(res, `${label} (authorization: ${auth})`);
          expect(res.status, label).toBe(401);
          expect(res.headers["www-authenticate"], label).toMatch(/^Bearer /);
          expect(changed, label).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---- the other brokers' contracts (secret in the path; their own answer formats) ------------------

function namesSeededClient(v: unknown): boolean {
  if (typeof v !== "string") return false;
  const forms = [v, v.replace(/\+/g, " ")];
  for (const f of [...forms]) {
    try {
      forms.push(decodeURIComponent(f));
    } catch {
      // not percent-encoded text
    }
  }
  return forms.includes(SEEDED_CLIENT);
}

/**
 * A query string with a value that is (a form of) the seeded username: a GET vhost, resource or topic
 * check for it is rightly allowed without a password, so such a query is no garbage.
 */
function queryNamesSeededClient(query: string): boolean {
  return query.split("&").some((pair) => namesSeededClient(pair.slice(pair.indexOf("=") + 1)));
}

/** The fields RabbitMQ, mosquitto-go-auth and VerneMQ send; never the seeded username (a vhost check needs no password). */
const peerFields = fc.record(
  {
    // Also not a form of it the server decodes to it ("%64ev1" in a query string is "dev1").
    username: nastyValue.filter((v) => !namesSeededClient(v)),
    password: nastyValue,
    clientid: nastyValue,
    client_id: nastyValue,
    peer_addr: nastyValue,
    topic: nastyValue,
    topics: fc.oneof(
      fc.array(fc.record({ topic: nastyValue, qos: fc.oneof(fc.constantFrom(0, 1, 2, 3), nastyValue) }), {
        maxLength: 3,
      }),
      nastyValue,
    ),
    qos: fc.oneof(fc.constantFrom(0, 1, 2, 3, "1"), nastyValue),
    retain: fc.oneof(fc.boolean(), nastyValue),
    vhost: nastyValue,
    resource: fc.oneof(fc.constantFrom("queue", "exchange", "topic"), nastyValue),
    name: nastyValue,
    permission: fc.oneof(fc.constantFrom("configure", "write", "read"), nastyValue),
    routing_key: nastyValue,
    "variable_map.client_id": nastyValue,
    acc: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 8, "2"), nastyValue),
  },
  { requiredKeys: [] },
);

interface PeerRoute {
  readonly contract: "rabbitmq" | "goauth" | "vernemq";
  readonly path: string;
  readonly methods: readonly string[];
}
const PEER_ROUTES: readonly PeerRoute[] = [
  ...["/auth/user", "/auth/vhost", "/auth/resource", "/auth/topic"].map(
    (path): PeerRoute => ({ contract: "rabbitmq", path, methods: ["POST", "GET"] }),
  ),
  ...["/user", "/superuser", "/acl"].map(
    (path): PeerRoute => ({ contract: "goauth", path, methods: ["POST", "PUT", "GET"] }),
  ),
  ...["", ...VERNEMQ_HOOKS, "auth_on_unknown"].map(
    (hook): PeerRoute => ({ contract: "vernemq", path: `/${hook}`, methods: ["POST"] }),
  ),
];

/** Each contract's refusal, as its broker reads it; anything else must be a 4xx in our error shape. */
function expectPeerAnswer(route: PeerRoute, res: RawResponse, label: string): "decided" | "refused" {
  expect(res.status, `${label} → ${res.text.slice(0, 200)}`).toBeLessThan(500);
  if (route.contract === "rabbitmq" && res.status === 200) {
    expect(res.text, label).toBe("deny");
    return "decided";
  }
  if (route.contract === "goauth" && (res.status === 200 || res.status === 403)) {
    expect(res.status, `${label}: go-auth reads 200 as allow`).toBe(403);
    expect(expectJson(res, label), label).toEqual({ ok: false, error: "not allowed" });
    return "decided";
  }
  if (route.contract === "vernemq" && res.status === 200) {
    const body = expectJson(res, label) as {
      result?: unknown;
      topics?: { qos: unknown }[];
      modifiers?: { topics?: { qos: unknown }[] };
    };
    if (body.result === "ok") {
      // A SUBSCRIBE is answered "ok" with the topic list VerneMQ should grant: every topic must come
      // back refused (128 for MQTT 3, 135 for MQTT 5), or the garbage was allowed.
      const topics = body.modifiers?.topics ?? body.topics;
      expect(topics, `${label}: VerneMQ reads a bare "ok" as allow`).toBeDefined();
      for (const t of topics ?? []) expect([128, 135], label).toContain(t.qos);
      return "decided";
    }
    expect([{ error: "not_allowed" }, "next"], label).toContainEqual(body.result);
    return "decided";
  }
  expectErrorShape(res, label);
  return "refused";
}

describe("fuzz: the RabbitMQ, go-auth and VerneMQ hooks never allow garbage", () => {
  it("answers each contract's deny or a 4xx, never a 5xx, never echoing the path secret", async () => {
    const secretSegment = fc.oneof(
      { weight: 12, arbitrary: fc.constant(HOOK_SECRET) },
      {
        weight: 1,
        arbitrary: fc.constantFrom("", "x", `${HOOK_SECRET}x`, percentEncode(`${HOOK_SECRET} `), "%FF", ".."),
      },
    );
    const hookHeader = fc.option(
      fc.oneof(
        fc.constantFrom(...VERNEMQ_HOOKS),
        urlString.map((s) => s.replace(/[^\x20-\x7e]/g, "")),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PEER_ROUTES),
        fc.nat(),
        secretSegment,
        payload(HOOK_LIMIT, peerFields),
        fc
          .oneof(fieldsOf(urlString).map(formOf).filter(fitsUrl), queryString)
          .filter((q) => !queryNamesSeededClient(q)),
        hookHeader,
        async (route, pick, secret, body, query, vernemqHook) => {
          const method = route.methods[pick % route.methods.length]!;
          const base = `/${route.contract}/${secret}${route.path}`;
          const headers = vernemqHook === null ? {} : { "vernemq-hook": vernemqHook };
          const req =
            method === "GET"
              ? { method, path: query === "" ? base : `${base}?${query}`, headers }
              : withPayload(method, base, body, headers);
          const { res, changed, label } = await exchange(req);
          expect(res.text, `${label}: the answer echoes the path secret`).not.toContain(HOOK_SECRET);
          if (expectPeerAnswer(route, res, label) === "refused") {
            expect(changed, `${label}: a refused hook request changed the database`).toBe(false);
          }
        },
      ),
      { numRuns: 600 },
    );
  });
});

describe("fuzz: the operations endpoints", () => {
  it("/healthz and /readyz answer any method, query and body without a 5xx or a change", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...OPS_ROUTES),
        fc.constantFrom(...METHODS),
        queryString,
        payload(API_LIMIT),
        async (route, method, query, body) => {
          const path = query === "" ? route : `${route}?${query}`;
          const req = isRead(method) ? { method, path } : withPayload(method, path, body, {});
          const { res, changed, label } = await exchange(req);
          if (isRead(method)) {
            expect(res.status, label).toBe(200);
            expectJson(res, label);
          } else expectErrorShape(res, label);
          expect(changed, label).toBe(false);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("fuzz: the worst payloads, sent to every endpoint", () => {
  const worst: readonly [string, Payload][] = [
    [
      "10,000-deep array",
      { contentType: "application/json", body: Buffer.from(deeplyNested(10_000, "array")) },
    ],
    [
      "10,000-deep object",
      { contentType: "application/json", body: Buffer.from(deeplyNested(10_000, "object")) },
    ],
    [
      "10,000-deep password",
      { contentType: "application/json", body: Buffer.from(deeplyNested(10_000, "field")) },
    ],
    ["API limit + 1", { contentType: "application/json", body: Buffer.from(sizedJson(API_LIMIT, 1)) }],
    ["hook limit + 1", { contentType: "application/json", body: Buffer.from(sizedJson(HOOK_LIMIT, 1)) }],
    [
      "1 MB form",
      { contentType: FORM_TYPE, body: Buffer.from(`username=x&password=${"p".repeat(1 << 20)}`) },
    ],
    [
      "gzip bomb (16 MB inflated)",
      {
        contentType: "application/json",
        contentEncoding: "gzip",
        body: gzipSync(Buffer.from(`{"username":"x","password":"${"0".repeat(16 << 20)}"}`)),
      },
    ],
    [
      "invalid UTF-8",
      {
        contentType: "application/json",
        body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      },
    ],
    [
      "NUL bytes",
      { contentType: "application/json", body: Buffer.from('{"username":"\\u0000","password":"\\u0000"}') },
    ],
    ["raw NUL", { contentType: "application/json", body: Buffer.from([0x00, 0x00, 0x00]) }],
    [
      "SQL",
      {
        contentType: "application/json",
        body: Buffer.from(JSON.stringify({ username: SQL[1], password: SQL[0], topic: SQL[2] })),
      },
    ],
    [
      "over-long username",
      {
        contentType: "application/json",
        body: Buffer.from(JSON.stringify({ username: "u".repeat(65536), password: "x" })),
      },
    ],
    [
      "over-long topic",
      {
        contentType: "application/json",
        body: Buffer.from(JSON.stringify({ username: "u", topic: "t/".repeat(40_000), action: "publish" })),
      },
    ],
    [
      "multipart",
      {
        contentType: "multipart/form-data; boundary=x",
        body: Buffer.from('--x\r\nContent-Disposition: form-data; name="username"\r\n\r\ndev1\r\n--x--\r\n'),
      },
    ],
  ];
  const targets: readonly Route[] = [
    ...HOOK_ROUTES.map((path) => ({ method: "POST", path })),
    ...API_ROUTES.filter((r) => !isRead(r.method)).map((r) => ({
      ...r,
      path: r.path.replace(":p", "fuzz-target"),
    })),
    ...SEEDED_WRITES,
    ...OPS_ROUTES.map((path) => ({ method: "POST", path })),
  ];

  it("answers each with a 4xx or a hook deny, and changes nothing", async () => {
    for (const route of targets) {
      for (const [name, p] of worst) {
        const isHook = HOOK_ROUTES.includes(route.path);
        const headers = isHook ? hookHeaders : bearer;
        const { res, changed, label } = await exchange(withPayload(route.method, route.path, p, headers));
        const full = `${name}: ${label}`;
        if (isHook && res.status === 200) {
          expect(expectJson(res, full), full).toEqual({ result: expect.stringMatching(/^(deny|ignore)$/) });
          continue;
        }
        expectErrorShape(res, full);
        expect(changed, full).toBe(false);
      }
    }
  });
});

describe("fuzz: the import route's larger limit", () => {
  it("POST /api/v1/import refuses a body over its 10 MB limit with 413 and changes nothing", async () => {
    const body = Buffer.from(sizedJson(10 * 1024 * 1024, 1));
    const { res, changed, label } = await exchange(
      withPayload("POST", "/api/v1/import", { contentType: "application/json", body }, bearer),
    );
    expectErrorShape(res, label);
    expect(res.status).toBe(413);
    expect(changed).toBe(false);
  });
});

describe("fuzz: afterwards", () => {
  it("the service still works: the seeded client logs in and its exact topic is allowed", async () => {
    expect((await authDecision(ctx, { username: SEEDED_CLIENT, password: PASSWORD })).result).toBe("allow");
    const acl = await request(ctx.app)
      .post("/mqtt/acl")
      .set(hookHeaders)
      .send({ username: SEEDED_CLIENT, clientid: "c1", topic: ALLOWED_TOPIC, action: "publish" });
    expect(acl.body).toEqual({ result: "allow" });
    expect((await request(ctx.app).get("/healthz")).status).toBe(200);
  });

  it("logged no internal error", () => {
    const errors = ctx.logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  });

  it("ran at least 2,000 cases", () => {
    expect(cases).toBeGreaterThanOrEqual(2000);
  });
});
