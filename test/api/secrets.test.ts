import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ConfigVars } from "../../src/config";
import { buildRouter } from "../../src/http/router";
import wranglerToml from "../../wrangler.toml?raw";
import { call, TOKENS, uniquePool } from "../support/http";

const router = buildRouter();

/** Sends a request to the Worker with other secrets than vitest.config.ts sets. */
async function callWith(
  vars: ConfigVars,
  method: string,
  url: string,
  token?: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers = token === undefined ? extra : { ...extra, Authorization: `Bearer ${token}` };
  const testEnv = { ...env, ADMIN_TOKEN: undefined, CLIENT_TOKEN: undefined, ...vars } as Env;
  const response = await router.fetch(new Request(url, { method, headers }), testEnv, createExecutionContext());
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text,
  };
}

const [OLD_ADMIN, NEW_ADMIN] = TOKENS.admin;
const [OLD_CLIENT, NEW_CLIENT] = TOKENS.client;

describe("rotation", () => {
  it("accepts every token of a comma-separated secret, for its role", async () => {
    for (const token of TOKENS.admin) {
      expect((await call("POST", `/pools/${uniquePool()}/keys`, { token })).status).toBe(201);
    }
    for (const token of TOKENS.client) {
      expect((await call("POST", `/pools/${uniquePool()}/keys`, { token })).status).toBe(403);
      expect((await call("GET", `/pools/${uniquePool()}/keys`, { token })).status).toBe(404); // empty pool
    }
  });

  it("refuses a token once it is removed from the secret, and keeps the others working", async () => {
    const vars = { ADMIN_TOKEN: NEW_ADMIN, CLIENT_TOKEN: NEW_CLIENT };
    const base = `http://keypool.test/pools/${uniquePool()}/keys`;
    expect((await callWith(vars, "POST", base, OLD_ADMIN)).status).toBe(401);
    expect((await callWith(vars, "GET", base, OLD_CLIENT)).status).toBe(401);
    expect((await callWith(vars, "POST", base, NEW_ADMIN)).status).toBe(201);
    expect((await callWith(vars, "GET", base, NEW_CLIENT)).status).toBe(200);
  });
});

describe("safe by default", () => {
  const API_CALLS: Array<[string, string]> = [
    ["POST", "/keys"],
    ["GET", "/keys"],
    ["GET", `/keys/${crypto.randomUUID()}`],
    ["DELETE", `/pools/p/keys/${crypto.randomUUID()}`],
    ["GET", "/no-such-route"],
  ];

  it.each(API_CALLS)("without any token configured, %s %s is 503 naming the secret to set", async (method, path) => {
    for (const token of [undefined, OLD_ADMIN]) {
      const response = await callWith({}, method, `https://keypool.example.workers.dev${path}`, token);
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ error: expect.stringContaining("set the ADMIN_TOKEN secret") });
      expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
    }
  });

  it("still serves the API description and CORS preflights", async () => {
    expect((await callWith({}, "GET", "https://keypool.example.workers.dev/openapi.json")).status).toBe(200);
    expect((await callWith({}, "OPTIONS", "https://keypool.example.workers.dev/keys")).status).toBeLessThan(300);
  });

  it("with only CLIENT_TOKEN set, serves clients and no one else", async () => {
    const vars = { CLIENT_TOKEN: OLD_CLIENT };
    const base = `https://keypool.example.workers.dev/pools/${uniquePool()}/keys`;
    expect((await callWith(vars, "GET", base, OLD_CLIENT)).status).toBe(404); // empty pool: served
    expect((await callWith(vars, "POST", base, OLD_CLIENT)).status).toBe(403);
    expect((await callWith(vars, "POST", base, OLD_ADMIN)).status).toBe(401);
    expect((await callWith(vars, "POST", base)).status).toBe(401);
  });

  it("wrangler.toml sets no token and no local mode (the tests' tokens come from vitest.config.ts)", () => {
    // The file itself: the test runtime's bindings add tokens, so `env` could not show one in the file.
    const assignments = wranglerToml
      .split("\n")
      .map((line) => line.replace(/#.*/, "").trim())
      .filter((line) => line.includes("="))
      .map((line) => line.split("=")[0]?.trim());
    expect(assignments).toContain("KEY_TTL_SECONDS"); // the parse found the [vars]
    for (const name of ["ADMIN_TOKEN", "CLIENT_TOKEN", "LOCAL_DEV_NO_AUTH"]) expect(assignments).not.toContain(name);
    expect(wranglerToml).not.toMatch(/test-(admin|client)-token/);
    expect((env as ConfigVars).LOCAL_DEV_NO_AUTH).toBeUndefined();
  });

  it.each([
    ["ADMIN_TOKEN", "short"],
    ["CLIENT_TOKEN", "a token with spaces in it"],
  ])("a bad %s answers 500 naming the variable, never the token", async (name, bad) => {
    const response = await callWith({ [name]: bad }, "GET", "http://keypool.test/keys", bad);
    expect(response.status).toBe(500);
    expect(response.body.error).toMatch(new RegExp(`^Server misconfigured: ${name} token 1 of 1`));
    expect(response.body.error).not.toContain(bad);
  });

  it("a missing rate limiter binding answers 500 naming it", async () => {
    const response = await callWith(
      { ADMIN_TOKEN: OLD_ADMIN, RATE_LIMITER: undefined } as ConfigVars,
      "GET",
      "http://keypool.test/keys",
      OLD_ADMIN,
    );
    expect(response.status).toBe(500);
    expect(response.body.error).toContain("RATE_LIMITER");
  });
});

describe("local development mode (LOCAL_DEV_NO_AUTH, set only by npm start / npm run dev)", () => {
  const open = { LOCAL_DEV_NO_AUTH: "true" };

  it.each(["http://localhost:8787", "http://127.0.0.1:9300", "http://[::1]:8787"])(
    "serves every call without a token on %s",
    async (origin) => {
      const base = `${origin}/pools/${uniquePool()}/keys`;
      const created = await callWith(open, "POST", base);
      expect(created.status).toBe(201);
      expect((await callWith(open, "DELETE", `${base}/${created.body.keyId}`)).status).toBe(200);
    },
  );

  it("stays closed on any other host, so it cannot open a deployed Worker", async () => {
    for (const origin of ["https://keypool.example.workers.dev", "http://192.168.1.10:8787", "http://localhost.evil"]) {
      const response = await callWith(open, "POST", `${origin}/keys`);
      expect(response.status, origin).toBe(503);
      expect(response.body.error).toContain("localhost only");
    }
  });

  it.each([
    ["a page on another site", { Origin: "https://evil.example" }],
    ["a page on another machine of the network", { Origin: "http://192.168.1.10:8787" }],
    ["a cross-site request without Origin", { "Sec-Fetch-Site": "cross-site" }],
  ])("refuses %s with 403, and changes nothing", async (_what, headers) => {
    const pool = uniquePool();
    const response = await callWith(open, "POST", `http://localhost:8787/pools/${pool}/keys`, undefined, headers);
    expect(response.status).toBe(403);
    expect(response.body.error).toMatch(/Local mode .* another site is refused/);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const after = await callWith(open, "GET", `http://localhost:8787/pools/${pool}`);
    expect(after).toMatchObject({ status: 404, body: { error: "No such pool" } });
  });

  it("grants no preflight to another site, and one to a page on this machine", async () => {
    const preflight = (origin: string) =>
      callWith(open, "OPTIONS", "http://localhost:8787/keys", undefined, {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
      });
    const evil = await preflight("https://evil.example");
    expect(evil.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(evil.headers.get("Access-Control-Allow-Methods")).toBeNull();
    const local = await preflight("http://localhost:5173");
    expect(local.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:5173");
    expect(local.headers.get("Vary")).toBe("Origin");
  });

  it("serves the dashboard's and /docs' own calls (same origin) and tools that send no Origin", async () => {
    const base = `http://localhost:8787/pools/${uniquePool()}/keys`;
    const sameOrigin = { Origin: "http://localhost:8787", "Sec-Fetch-Site": "same-origin" };
    expect((await callWith(open, "POST", base, undefined, sameOrigin)).status).toBe(201);
    expect((await callWith(open, "GET", base)).status).toBe(200);
  });

  it("gives way to real tokens as soon as one is configured (e.g. in .dev.vars)", async () => {
    const vars = { ...open, ADMIN_TOKEN: OLD_ADMIN };
    const base = `http://localhost:8787/pools/${uniquePool()}/keys`;
    expect((await callWith(vars, "POST", base)).status).toBe(401);
    expect((await callWith(vars, "POST", base, OLD_ADMIN)).status).toBe(201);
  });
});
