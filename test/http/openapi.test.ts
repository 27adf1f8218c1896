import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_OPERATIONS } from "../../src/http/openapi.js";
import { bearer, createTestContext, type TestContext } from "../helpers/context.js";

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every (method, path) Express would route under /api/v1, read from the router itself. */
function registeredApiRoutes(): string[] {
  const routes: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        for (const method of Object.keys(layer.route.methods)) {
          routes.push(`${method} ${`${prefix}${layer.route.path}`.replace(/\/+/g, "/")}`);
        }
      } else if (layer.handle.stack !== undefined) {
        walk(layer.handle.stack, prefix + (layer.rawPath ?? ""));
      }
    }
  };
  walk((ctx.app.express as unknown as { router: { stack: Layer[] } }).router.stack, "");
  return routes
    .filter((r) => r.includes(" /api/v1/") && !r.endsWith("/openapi.json"))
    .map((r) => r.replace(" /api/v1/", " /").replace(/:(\w+)/g, "{$1}"));
}

const documented = API_OPERATIONS.map((op) => `${op.method} ${op.path}`);

describe("GET /api/v1/openapi.json", () => {
  it("serves an OpenAPI 3.1 document without a token", async () => {
    const res = await request(ctx.app).get("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(Object.keys(res.body.paths)).toContain("/clients/{username}");
  });

  it("documents every route the API serves", () => {
    const registered = registeredApiRoutes();
    expect(registered.length).toBeGreaterThan(10);
    expect(registered.filter((r) => !documented.includes(r))).toEqual([]);
  });

  it("serves every route it documents", async () => {
    for (const op of API_OPERATIONS) {
      const path = `/api/v1${op.path.replace(/\{\w+\}/g, "nobody")}`;
      const res = await request(ctx.app)
        [op.method](path)
        .set(bearer)
        .set("content-type", "application/json")
        .send("{}");
      // A documented route may refuse the probe (400, 404 for "nobody"), but never as an unknown route.
      expect({ route: `${op.method} ${op.path}`, message: res.body.error?.message ?? "" }).not.toMatchObject({
        message: expect.stringMatching(/^no route for/),
      });
    }
  });

  it("generates request schemas from the validating zod schemas", async () => {
    const res = await request(ctx.app).get("/api/v1/openapi.json");
    const create = res.body.paths["/clients"].post.requestBody.content["application/json"].schema;
    expect(create.required).toEqual(["username"]);
    expect(create.additionalProperties).toBe(false);
    expect(create.properties.username.maxLength).toBe(256);
  });
});
