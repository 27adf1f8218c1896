// biome-ignore-all lint/suspicious/noTemplateCurlyInString: rule topics carry ${username} placeholders literally
import fc from "fast-check";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provision } from "../helpers/api.js";
import {
  bearer,
  createTestContext,
  HOOK_SECRET,
  SECRET_HEADER,
  type TestContext,
} from "../helpers/context.js";

/**
 * `POST /mqtt/auth|acl` with exactly `application/json` is answered by the EMQX hooks' fast lane,
 * ahead of the routers; the same request with `; charset=utf-8` goes through the router and its
 * generic body parser. Both must answer byte for byte alike, headers included, for every kind of
 * body — the good ones and the bad ones.
 */

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
  await provision(ctx, { username: "dev1", password: "dev1 password" });
  await request(ctx.app)
    .put("/api/v1/clients/dev1/acl")
    .set(bearer)
    .send({ rules: [{ permission: "allow", action: "publish", topic: "t/${username}" }] });
});
afterAll(() => ctx.close());

const VARYING = new Set(["date", "x-request-id"]);

async function both(path: string, body: string, secret = HOOK_SECRET) {
  const send = (contentType: string) =>
    request(ctx.app).post(path).set(SECRET_HEADER, secret).set("content-type", contentType).send(body);
  const [fast, routed] = [await send("application/json"), await send("application/json; charset=utf-8")];
  const headers = (r: request.Response) =>
    Object.fromEntries(Object.entries(r.headers).filter(([name]) => !VARYING.has(name)));
  return {
    fast: { status: fast.status, text: fast.text, headers: headers(fast) },
    routed: { status: routed.status, text: routed.text, headers: headers(routed) },
  };
}

const login = (fields: Record<string, unknown>) =>
  JSON.stringify({ clientid: "c1", peerhost: "10.0.0.1", ...fields });

describe("the EMQX hooks' fast lane answers as the router does", () => {
  it.each([
    ["allow", "/mqtt/auth", login({ username: "dev1", password: "dev1 password" })],
    ["deny (wrong password)", "/mqtt/auth", login({ username: "dev1", password: "nope" })],
    ["deny (unknown user)", "/mqtt/auth", login({ username: "nobody", password: "x" })],
    [
      "acl allow",
      "/mqtt/acl",
      JSON.stringify({
        username: "dev1",
        clientid: "c1",
        topic: "t/dev1",
        action: "publish",
        qos: "0",
        retain: "false",
      }),
    ],
    [
      "acl deny",
      "/mqtt/acl",
      JSON.stringify({ username: "dev1", clientid: "c1", topic: "t/x", action: "publish" }),
    ],
    ["invalid JSON", "/mqtt/auth", "{"],
    ["a JSON string, not an object", "/mqtt/auth", '"dev1"'],
    ["a JSON number", "/mqtt/acl", "1"],
    ["a field of the wrong type", "/mqtt/auth", login({ username: 1, password: "x" })],
    [
      "an action EMQX never sends",
      "/mqtt/acl",
      JSON.stringify({ username: "dev1", topic: "t", action: "delete" }),
    ],
    ["a JSON array", "/mqtt/auth", "[]"],
    [
      "a byte order mark before the JSON",
      "/mqtt/auth",
      `\uFEFF${login({ username: "dev1", password: "dev1 password" })}`,
    ],
    [
      "white space around the JSON",
      "/mqtt/acl",
      ` \n${JSON.stringify({ username: "dev1", topic: "t/dev1", action: "publish" })}\n `,
    ],
  ])("%s", async (_name, path, body) => {
    const { fast, routed } = await both(path, body);
    expect(fast).toEqual(routed);
  });

  it("and refuses a wrong secret alike (the router answers it)", async () => {
    const { fast, routed } = await both(
      "/mqtt/auth",
      login({ username: "dev1", password: "dev1 password" }),
      `${HOOK_SECRET}x`,
    );
    expect(fast.status).toBe(401);
    expect(fast).toEqual(routed);
  });
});

describe("the lane and the router agree on any body (property)", () => {
  // Bodies near what EMQX sends (its fields, with values of any JSON type) and any JSON at all, as
  // text: whatever the lane takes or hands back, the status, headers and body must match the router's.
  const field = fc.oneof(fc.constantFrom("dev1", "nobody", "dev1 password", ""), fc.jsonValue());
  const emqxLike = fc.record(
    {
      username: field,
      password: field,
      clientid: field,
      peerhost: field,
      topic: fc.oneof(fc.constantFrom("t/dev1", "t/x", ""), fc.jsonValue()),
      action: fc.oneof(fc.constantFrom("publish", "subscribe"), fc.jsonValue()),
      qos: fc.oneof(fc.constantFrom("0", "1", "2"), fc.jsonValue()),
      retain: fc.oneof(fc.constantFrom("true", "false"), fc.jsonValue()),
    },
    { requiredKeys: [] },
  );
  const bodyText = fc.oneof(
    emqxLike.map((v) => JSON.stringify(v)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ minLength: 1 }),
  );

  it("for /mqtt/auth and /mqtt/acl", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/mqtt/auth", "/mqtt/acl"), bodyText, async (path, body) => {
        const { fast, routed } = await both(path, body);
        expect(fast).toEqual(routed);
      }),
      { numRuns: 150 },
    );
  });
});

describe("what the lane leaves behind is what the router leaves behind", () => {
  const metricCount = async (route: string, status: number) => {
    const res = await request(ctx.app).get("/metrics").set(bearer);
    const line = res.text
      .split("\n")
      .find((l) =>
        l.startsWith(
          `mqtt_authd_http_request_duration_seconds_count{route="${route}",method="POST",status="${status}"}`,
        ),
      );
    return line === undefined ? 0 : Number(line.split(" ").at(-1));
  };

  it.each([
    ["application/json", "lane"],
    ["application/json; charset=utf-8", "router"],
  ])(
    "%s (%s): a latency sample under the route, a request line and a deny line with the caller's request id",
    async (contentType) => {
      const before = await metricCount("/mqtt/auth", 200);
      const reqId = `trace-${contentType.length}`;
      const res = await request(ctx.app)
        .post("/mqtt/auth")
        .set(SECRET_HEADER, HOOK_SECRET)
        .set("x-request-id", reqId)
        .set("content-type", contentType)
        .send(login({ username: "dev1", password: "wrong again" }));
      expect(res.body).toEqual({ result: "deny" });
      expect(res.headers["x-request-id"]).toBe(reqId);
      expect(await metricCount("/mqtt/auth", 200)).toBe(before + 1);
      const lines = ctx.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.reqId === reqId);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: "authn deny", reason: "bad_password", username: "dev1" }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: "request", method: "POST", path: "/mqtt/auth", status: 200 }),
      );
      // The password is in neither line.
      expect(JSON.stringify(lines)).not.toContain("wrong again");
    },
  );

  it("a body the lane took but could not parse is answered, logged and counted by Express's error path", async () => {
    const before = await metricCount("unmatched", 400);
    const res = await request(ctx.app)
      .post("/mqtt/acl")
      .set(SECRET_HEADER, HOOK_SECRET)
      .set("x-request-id", "trace-bad-json")
      .set("content-type", "application/json")
      .send("{nope");
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: "invalid_json", message: "request body is not valid JSON" } });
    expect(res.headers["x-request-id"]).toBe("trace-bad-json");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(await metricCount("unmatched", 400)).toBe(before + 1);
  });
});
