import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, CLIENT_TOKEN, call, uniquePool } from "../support/http";

/** The operator API is for admins only: a client token is 403, no or a wrong token 401. */

const CALLERS = {
  "no token": { token: null, status: 401 },
  "wrong token": { token: "not-a-configured-token-0123456789", status: 401 },
  client: { token: CLIENT_TOKEN, status: 403 },
  admin: { token: ADMIN_TOKEN, status: 200 },
} as const;

const ROUTES = [
  { method: "GET", path: (pool: string) => `/pools/${pool}` },
  { method: "GET", path: (pool: string) => `/pools/${pool}/list?state=all&limit=5` },
  { method: "PUT", path: (pool: string) => `/pools/${pool}/settings`, json: { keyTtlSeconds: 7 } },
  { method: "DELETE", path: (pool: string) => `/pools/${pool}` },
  { method: "GET", path: (pool: string) => `/pools/${pool}/metrics` },
  { method: "GET", path: (pool: string) => `/pools/${pool}/audit?limit=5` },
  { method: "GET", path: (_pool: string) => "/pools?limit=5" },
  { method: "GET", path: (_pool: string) => "/metrics?limit=5" },
] as const;

describe.each(ROUTES)("$method $path", (route) => {
  it.each(Object.entries(CALLERS))("as %s: %j", async (caller, { token, status }) => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 2 } });
    const response = await call(route.method, route.path(pool), {
      token,
      json: "json" in route ? route.json : undefined,
    });
    expect(response.status).toBe(status);
    if (route.method === "DELETE" && status === 200) {
      expect(await call("GET", `/pools/${pool}`)).toMatchObject({ status: 404 });
      return;
    }
    const settings = (await call("GET", `/pools/${pool}`)).body.settings;
    if (status !== 200) {
      expect(response.body).toEqual({ error: expect.any(String) });
      expect(JSON.stringify(response.body)).not.toContain("keyId");
      if (status === 403) expect(response.body.error).toMatch(/admin token/);
      // A refused settings change changes nothing.
      expect(settings.keyTtlSeconds, caller).toBe(300);
      expect(response.headers.get("WWW-Authenticate")).toContain("Bearer");
    } else if (route.method === "PUT") {
      expect(settings.keyTtlSeconds).toBe(7);
    }
  });
});
