import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { snapshot } from "../support/durable-pool";
import { ADMIN_TOKEN, CLIENT_TOKEN, call, uniquePool } from "../support/http";

type Caller = "no token" | "wrong token" | "client" | "admin";

const CALLERS: Record<Caller, string | null> = {
  "no token": null,
  "wrong token": "not-a-configured-token-0123456789",
  client: CLIENT_TOKEN,
  admin: ADMIN_TOKEN,
};

interface Request {
  method: string;
  path: string;
  json?: unknown;
  headers?: Record<string, string>;
}

interface Route {
  name: string;
  /** Sets up what the call needs (as admin) and returns the call. */
  prepare(base: string): Promise<Request>;
  admin: number;
  client: number;
  /** What a refusal that is not about the token says (the default: that an admin token is needed). */
  refused?: RegExp;
}

async function createKey(base: string): Promise<string> {
  const created = await call("POST", base);
  expect(created.status).toBe(201);
  return created.body.keyId;
}

/** The pool a mount's base addresses: `/keys` is the pool `default`. */
const poolOf = (base: string) => (base === "/keys" ? "default" : (base.split("/")[2] as string));

/** An imported key, free. */
async function importedKey(base: string): Promise<string> {
  const imported = await call("POST", base, { json: { keys: [{ key: `sk-${crypto.randomUUID()}` }] } });
  expect(imported.status).toBe(201);
  return imported.body.keyIds[0];
}

/** A key held through `GET /keys`, with its lease and its holder secret. */
async function heldKey(base: string): Promise<{ keyId: string; lease: number; leaseToken: string }> {
  await createKey(base);
  const assigned = await call("GET", base);
  expect(assigned.status).toBe(200);
  return assigned.body;
}

const ROUTES: Route[] = [
  { name: "POST /keys (create)", prepare: async (base) => ({ method: "POST", path: base }), admin: 201, client: 403 },
  {
    name: "POST /keys with count",
    prepare: async (base) => ({ method: "POST", path: base, json: { count: 2 } }),
    admin: 201,
    client: 403,
  },
  {
    name: "POST /keys with count and label",
    prepare: async (base) => ({ method: "POST", path: base, json: { count: 2, label: "batch" } }),
    admin: 201,
    client: 403,
  },
  {
    name: "POST /keys with keys (import)",
    prepare: async (base) => ({ method: "POST", path: base, json: { keys: [{ key: `sk-${crypto.randomUUID()}` }] } }),
    admin: 201,
    client: 403,
  },
  {
    name: "PUT /keys/{id} with a label",
    prepare: async (base) => ({ method: "PUT", path: `${base}/${await createKey(base)}`, json: { label: "mine" } }),
    admin: 200,
    client: 403,
  },
  {
    name: "GET /keys/{id} of a free imported key",
    prepare: async (base) => ({ method: "GET", path: `${base}/${await importedKey(base)}` }),
    // Nobody but its holder reads an imported value, admins included.
    admin: 403,
    client: 403,
    refused: /shown only to the holder/,
  },
  {
    name: "GET /keys/{id}/info of an imported key",
    prepare: async (base) => ({ method: "GET", path: `${base}/${await importedKey(base)}/info` }),
    admin: 200,
    client: 200,
  },
  {
    name: "GET /keys (assign)",
    prepare: async (base) => {
      await createKey(base);
      return { method: "GET", path: base };
    },
    admin: 200,
    client: 200,
  },
  {
    name: "GET /keys/{id} (value)",
    prepare: async (base) => ({ method: "GET", path: `${base}/${await createKey(base)}` }),
    admin: 200,
    client: 200,
  },
  {
    name: "GET /keys/{id}/info",
    prepare: async (base) => ({ method: "GET", path: `${base}/${await createKey(base)}/info` }),
    admin: 200,
    client: 200,
  },
  {
    name: "PUT /keys/{id}/alive",
    prepare: async (base) => ({ method: "PUT", path: `${base}/${await createKey(base)}/alive` }),
    admin: 200,
    client: 200,
  },
  {
    name: "GET /keys/{id} of a held key, with its secret",
    prepare: async (base) => {
      const { keyId, leaseToken } = await heldKey(base);
      return { method: "GET", path: `${base}/${keyId}`, headers: holding(leaseToken) };
    },
    admin: 200,
    client: 200,
  },
  {
    name: "PUT /keys/{id}/alive?lease= without the secret",
    prepare: async (base) => {
      const { keyId, lease } = await heldKey(base);
      return { method: "PUT", path: `${base}/${keyId}/alive?lease=${lease}` };
    },
    // A lease alone proves nothing for a client: it is the holder's call, and the holder is not proven.
    admin: 200,
    client: 409,
  },
  {
    name: "PUT /keys/{id}/alive?lease= with the secret",
    prepare: async (base) => {
      const { keyId, lease, leaseToken } = await heldKey(base);
      return { method: "PUT", path: `${base}/${keyId}/alive?lease=${lease}`, headers: holding(leaseToken) };
    },
    admin: 200,
    client: 200,
  },
  {
    name: "PUT /keys/{id} block without lease",
    prepare: async (base) => ({ method: "PUT", path: `${base}/${await createKey(base)}`, json: { blocked: true } }),
    admin: 200,
    client: 403,
  },
  {
    name: "PUT /keys/{id} unblock without lease",
    prepare: async (base) => {
      const { keyId } = await heldKey(base);
      return { method: "PUT", path: `${base}/${keyId}`, json: { blocked: false } };
    },
    admin: 200,
    client: 403,
  },
  {
    name: "PUT /keys/{id} unblock with the lease only",
    prepare: async (base) => {
      const { keyId, lease } = await heldKey(base);
      return { method: "PUT", path: `${base}/${keyId}`, json: { blocked: false, lease } };
    },
    admin: 200,
    client: 409,
  },
  {
    name: "PUT /keys/{id} unblock with the secret",
    prepare: async (base) => {
      const { keyId, leaseToken } = await heldKey(base);
      return { method: "PUT", path: `${base}/${keyId}`, json: { blocked: false }, headers: holding(leaseToken) };
    },
    admin: 200,
    client: 200,
  },
  {
    name: "PUT /keys/{id} renew with the lease and the secret",
    prepare: async (base) => {
      const { keyId, lease, leaseToken } = await heldKey(base);
      return { method: "PUT", path: `${base}/${keyId}`, json: { blocked: true, lease }, headers: holding(leaseToken) };
    },
    admin: 200,
    client: 200,
  },
  {
    name: "DELETE /keys/{id}",
    prepare: async (base) => ({ method: "DELETE", path: `${base}/${await createKey(base)}` }),
    admin: 200,
    client: 403,
  },
  {
    name: "PUT /keys/{id} disabled",
    prepare: async (base) => ({ method: "PUT", path: `${base}/${await createKey(base)}`, json: { disabled: true } }),
    admin: 200,
    client: 403,
  },
  {
    name: "POST /keys/{id}/report with the secret",
    prepare: async (base) => {
      const { keyId, leaseToken } = await heldKey(base);
      const json = { outcome: "rate_limited", retryAfterSeconds: 1 };
      return { method: "POST", path: `${base}/${keyId}/report`, json, headers: holding(leaseToken) };
    },
    admin: 200,
    client: 200,
  },
  {
    name: "POST /keys/{id}/report without the secret",
    prepare: async (base) => {
      const { keyId } = await heldKey(base);
      return { method: "POST", path: `${base}/${keyId}/report`, json: { outcome: "unauthorized" } };
    },
    // An admin may report on any key; a client only as the proven holder.
    admin: 200,
    client: 409,
  },
  {
    name: "GET /pools (the directory)",
    prepare: async (base) => {
      await createKey(base);
      return { method: "GET", path: "/pools?limit=5" };
    },
    admin: 200,
    client: 403,
  },
  {
    name: "GET /pools/{pool}/metrics",
    prepare: async (base) => {
      await createKey(base);
      return { method: "GET", path: `/pools/${poolOf(base)}/metrics` };
    },
    admin: 200,
    client: 403,
  },
  {
    name: "GET /metrics",
    prepare: async (base) => {
      await createKey(base);
      return { method: "GET", path: "/metrics?limit=5" };
    },
    admin: 200,
    client: 403,
  },
  {
    name: "GET /keys?waitSeconds= (assign, waiting)",
    prepare: async (base) => {
      await createKey(base);
      return { method: "GET", path: `${base}?waitSeconds=1` };
    },
    admin: 200,
    client: 200,
  },
];

const holding = (leaseToken: string) => ({ "KeyPool-Lease-Token": leaseToken });

const MOUNTS: Array<[string, () => { base: string; pool: string }]> = [
  ["/keys", () => ({ base: "/keys", pool: "default" })],
  [
    "/pools/{pool}/keys",
    () => {
      const pool = uniquePool();
      return { base: `/pools/${pool}/keys`, pool };
    },
  ],
];

function expected(route: Route, caller: Caller): number {
  if (caller === "admin") return route.admin;
  if (caller === "client") return route.client;
  return 401;
}

describe.each(MOUNTS)("roles under %s", (_mount, mount) => {
  for (const route of ROUTES) {
    for (const caller of Object.keys(CALLERS) as Caller[]) {
      const status = expected(route, caller);
      it(`${route.name} as ${caller}: ${status}`, async () => {
        const { base, pool } = mount();
        const request = await route.prepare(base);
        const stub = env.KEY_POOL.getByName(pool);
        const before = await snapshot(stub);

        const response = await call(request.method, request.path, {
          json: request.json,
          headers: request.headers,
          token: CALLERS[caller],
        });

        expect(response.status).toBe(status);
        if (status < 400) return;
        expect(response.body).toEqual({ error: expect.any(String) });
        expect(await snapshot(stub), "a refused call changes nothing").toEqual(before);
        if (status === 401) {
          const challenge = caller === "no token" ? 'Bearer realm="KeyPool"' : expect.stringContaining("invalid_token");
          expect(response.headers.get("WWW-Authenticate")).toEqual(challenge);
        } else if (status === 409) {
          expect(response.body.error).toMatch(/KeyPool-Lease-Token/);
        } else if (route.refused !== undefined) {
          expect(response.body.error).toMatch(route.refused);
        } else {
          expect(response.body.error).toMatch(/admin token/);
          expect(response.headers.get("WWW-Authenticate")).toContain("insufficient_scope");
        }
      });
    }
  }
});

describe("bearer tokens", () => {
  it.each([
    ["another scheme", `Basic ${btoa("admin:secret")}`],
    ["no token after Bearer", "Bearer "],
    ["two tokens", `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}`],
    ["a token over 512 characters", `Bearer ${"a".repeat(513)}`],
  ])("a malformed Authorization header (%s) is 401 invalid_request", async (_what, header) => {
    const response = await call("GET", "/keys/info", { token: null, headers: { Authorization: header } });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: "Malformed Authorization header: expected Bearer <token>" });
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="KeyPool", error="invalid_request"');
  });

  it("accepts the scheme in any case and extra spaces", async () => {
    const response = await call("POST", `/pools/${uniquePool()}/keys`, {
      token: null,
      headers: { Authorization: `bearer   ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(201);
  });

  it("never echoes a presented token", async () => {
    for (const token of ["not-a-configured-token-0123456789", CLIENT_TOKEN]) {
      const response = await call("DELETE", `/keys/${crypto.randomUUID()}`, { token });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(JSON.stringify(response.body)).not.toContain(token);
      for (const [, value] of response.headers) expect(value).not.toContain(token);
    }
  });

  it("asks for a token before revealing whether a route exists", async () => {
    expect((await call("GET", "/nope", { token: null })).status).toBe(401);
    expect((await call("PATCH", "/keys", { token: null })).status).toBe(401);
    expect((await call("GET", "/nope")).status).toBe(404);
    expect((await call("PATCH", "/keys")).status).toBe(405);
  });

  it("leaves CORS preflights and the API description public", async () => {
    const preflight = await call("OPTIONS", "/keys", {
      token: null,
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "DELETE" },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get("Access-Control-Allow-Headers")).toContain("Authorization");
    // /docs is a static asset, public by nature: test/e2e/docs.test.ts opens it without a token.
    for (const path of ["/openapi.json", "/openapi.yaml"]) {
      expect((await call("GET", path, { token: null })).status, path).toBe(200);
    }
  });
});
