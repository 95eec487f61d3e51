import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildRouter } from "../../src/http/router";
import { call } from "../support/http";

const router = buildRouter();

/** GET / of a Worker with no token configured and the local development mode on, at `origin`. */
async function localHome(origin: string) {
  const open = { ...env, ADMIN_TOKEN: undefined, CLIENT_TOKEN: undefined, LOCAL_DEV_NO_AUTH: "true" } as Env;
  const response = await router.fetch(new Request(`${origin}/`), open, createExecutionContext());
  return { status: response.status, body: (await response.json()) as { localMode: boolean } };
}

describe("GET /", () => {
  it("answers anyone, without a token, with links to the docs, the dashboard and the OpenAPI document", async () => {
    const reply = await call("GET", "/", { token: null });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(reply.body).toMatchObject({
      name: "KeyPool",
      links: { docs: "/docs", dashboard: "/dashboard", openapi: "/openapi.json", openapiYaml: "/openapi.yaml" },
      localMode: false,
    });
    for (const path of ["/openapi.json", "/openapi.yaml"])
      expect((await call("GET", path, { token: null })).status).toBe(200);
  });

  it("says whether this server serves calls without a token (npm start, on a loopback host only)", async () => {
    expect(await localHome("http://localhost:8787")).toEqual({
      status: 200,
      body: expect.objectContaining({ localMode: true }),
    });
    expect((await localHome("https://keypool.example.workers.dev")).body.localMode).toBe(false);
  });
});
