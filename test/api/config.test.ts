import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { buildRouter } from "../../src/http/router";

it("answers 500 naming the variable when a TTL is misconfigured", async () => {
  const router = buildRouter();
  const badEnv = { ...env, BLOCK_TTL_SECONDS: "soon" } as Env;
  const response = await router.fetch(new Request("http://keypool.test/keys"), badEnv, createExecutionContext());
  expect(response.status).toBe(500);
  expect(response.headers.get("content-type")).toContain("application/json");
  expect(await response.json()).toEqual({
    error: expect.stringMatching(/^Server misconfigured: BLOCK_TTL_SECONDS must be a positive number/),
  });
});
