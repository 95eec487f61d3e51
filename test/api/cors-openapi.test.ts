import { type Schema, Validator } from "@cfworker/json-schema";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_CREATE_BODY_BYTES } from "../../src/http/schemas";
import { CLIENT_TOKEN, call } from "../support/http";
import { blockKey, createKey, drain, expectOk, poolBase, type Reply, unknownId, warmUp } from "../support/keys";
import { responseOf } from "../support/openapi";

const ORIGIN = { origin: "https://app.example" };
const JSON_TYPE = { "content-type": "application/json" };
/** A body over the limit of every route (64 KiB), and over POST /keys' own (1 MiB). */
const oversized = `{"count": 1}${" ".repeat(64 * 1024)}`;
const oversizedCreate = `{"count": 1}${" ".repeat(MAX_CREATE_BODY_BYTES)}`;

/** Requests of every kind of answer, each with the status it must get. */
const answers: Array<[string, number, () => Promise<Reply>]> = [
  ["GET /openapi.json", 200, () => call("GET", "/openapi.json", { headers: ORIGIN })],
  ["POST /keys", 201, () => call("POST", poolBase(), { headers: ORIGIN })],
  ["GET /keys (assign)", 200, async () => call("GET", await withKey(), { headers: ORIGIN })],
  ["GET /keys/{id}", 200, async () => call("GET", await keyPath(), { headers: ORIGIN })],
  ["PUT /keys/{id}", 200, async () => call("PUT", await keyPath(), { json: { blocked: true }, headers: ORIGIN })],
  ["a bad body", 400, () => call("POST", poolBase(), { json: { count: 0 }, headers: ORIGIN })],
  ["a bad pool name", 400, () => call("GET", "/pools/a.b/keys", { headers: ORIGIN })],
  ["a blocked key's value", 403, blockedKeyValue],
  ["an unknown key", 404, () => call("GET", `/keys/${unknownId()}`, { headers: ORIGIN })],
  ["an unknown route", 404, () => call("GET", "/nothing-here", { headers: ORIGIN })],
  ["a wrong method", 405, () => call("PATCH", `/keys/${unknownId()}`, { headers: ORIGIN })],
  ["a lease conflict", 409, async () => call("PUT", `${await keyPath()}/alive?lease=9`, { headers: ORIGIN })],
  [
    "a body over its limit",
    413,
    () => call("POST", poolBase(), { body: oversizedCreate, headers: { ...JSON_TYPE, ...ORIGIN } }),
  ],
  ["a non-JSON body", 415, () => call("POST", poolBase(), { body: "count=1", headers: ORIGIN })],
];

/** A fresh pool holding one free key. */
async function withKey(): Promise<string> {
  const base = poolBase();
  await createKey(base);
  return base;
}

/** The path of a free key in a fresh pool. */
async function keyPath(): Promise<string> {
  const base = poolBase();
  return `${base}/${await createKey(base)}`;
}

async function blockedKeyValue(): Promise<Reply> {
  const base = poolBase();
  const keyId = await createKey(base);
  await blockKey(base, keyId);
  return call("GET", `${base}/${keyId}`, { headers: ORIGIN });
}

describe("CORS", () => {
  it.each(["/keys", `/keys/${unknownId()}`, `/keys/${unknownId()}/alive`, `/pools/p/keys/${unknownId()}/info`])(
    "answers a browser's preflight for %s with 204 and permissive CORS headers",
    async (path) => {
      const reply = await call("OPTIONS", path, {
        headers: {
          ...ORIGIN,
          "access-control-request-method": "PUT",
          "access-control-request-headers": "content-type",
        },
      });
      expect(reply.status).toBe(204);
      expect(reply.headers.get("access-control-allow-origin")).toBe("*");
      const methods = listHeader(reply.headers, "access-control-allow-methods");
      expect(methods).toEqual(expect.arrayContaining(["GET", "POST", "PUT", "DELETE"]));
      const allowedHeaders = listHeader(reply.headers, "access-control-allow-headers").map((h) => h.toLowerCase());
      expect(allowedHeaders).toContain("content-type");
    },
  );

  it.each(answers)("allows any origin on %s (%i)", async (_name, status, send) => {
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(reply.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("allows any origin when the request carries no Origin header too", async () => {
    const reply = await call("GET", "/nothing-here");
    expect(reply.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("standard headers", () => {
  it.each(answers)("marks %s (%i) nosniff and no-store", async (_name, status, send) => {
    const reply = await send();
    expect(reply.status).toBe(status);
    expect(reply.headers.get("x-content-type-options")).toBe("nosniff");
    expect(reply.headers.get("cache-control")).toBe("no-store");
  });
});

/** `/keys` operations: a key of this object names the operation, relative to the mount. */
const OPERATIONS = {
  createKeys: ["post", ""],
  assignKey: ["get", ""],
  getKey: ["get", "/{id}"],
  getKeyInfo: ["get", "/{id}/info"],
  deleteKey: ["delete", "/{id}"],
  updateKey: ["put", "/{id}"],
  keepAlive: ["put", "/{id}/alive"],
  reportKey: ["post", "/{id}/report"],
} as const;
type OperationName = keyof typeof OPERATIONS;

/**
 * The statuses each operation can answer with (the pool twins also answer 400 for a bad pool name).
 * Every operation also answers 401 (token), 429 (rate limit) and 503 (no token configured); 403 is
 * also the answer to a client token where only an admin may act.
 */
const ACCESS = [401, 429, 503];
const STATUSES: Record<OperationName, number[]> = {
  createKeys: [201, 400, 403, 413, 415, ...ACCESS],
  assignKey: [200, 404, ...ACCESS],
  getKey: [200, 403, 404, ...ACCESS],
  getKeyInfo: [200, 404, ...ACCESS],
  deleteKey: [200, 403, 404, ...ACCESS],
  updateKey: [200, 400, 403, 404, 409, 413, 415, ...ACCESS],
  keepAlive: [200, 400, 404, 409, ...ACCESS],
  reportKey: [200, 400, 404, 409, 413, 415, ...ACCESS],
};

const MOUNTS = [
  { prefix: "/keys", suffix: "" },
  { prefix: "/pools/{pool}/keys", suffix: "InPool" },
];

let doc: any;

beforeAll(async () => {
  await warmUp();
  doc = expectOk(await call("GET", "/openapi.json"));
}, 30_000);

/** The document's operation object for an operation under a mount. */
function operationOf(name: OperationName, prefix: string): any {
  const [method, path] = OPERATIONS[name];
  return doc.paths?.[prefix + path]?.[method];
}

/** Validates `value` against a schema of the document, resolving its `#/components/...` references. */
function validate(value: unknown, schema: unknown): { valid: boolean; errors: unknown } {
  const root = { ...(schema as object), components: doc.components } as Schema;
  return new Validator(root, "2020-12", false).validate(value);
}

/** Every property name a response schema declares, through `$ref`, `allOf`, `anyOf` and `oneOf`. */
function declaredProperties(schema: any): Set<string> {
  const names = new Set<string>();
  const visit = (node: any): void => {
    if (node === null || typeof node !== "object") return;
    if (typeof node.$ref === "string") visit(resolve(node.$ref));
    for (const name of Object.keys(node.properties ?? {})) names.add(name);
    for (const part of [...(node.allOf ?? []), ...(node.anyOf ?? []), ...(node.oneOf ?? [])]) visit(part);
  };
  visit(schema);
  return names;
}

function resolve(ref: string): unknown {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce((node: any, part) => node?.[part], doc);
}

function listHeader(headers: Headers, name: string): string[] {
  return (headers.get(name) ?? "").split(",").map((part) => part.trim());
}

describe("OpenAPI document", () => {
  it("is served as OpenAPI 3.1 JSON", async () => {
    const reply = await call("GET", "/openapi.json");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(reply.body.openapi).toMatch(/^3\.1\.\d+$/);
    expect(reply.body.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  });

  it("has every /keys operation under both mounts, with exactly the served methods", () => {
    const expected: Record<string, string[]> = {};
    for (const { prefix } of MOUNTS) {
      for (const [method, path] of Object.values(OPERATIONS)) {
        const methods = expected[prefix + path] ?? [];
        methods.push(method);
        expected[prefix + path] = methods;
      }
    }
    const methodsOf = (item: object) =>
      Object.keys(item)
        .filter((k) => ["get", "put", "post", "delete", "patch", "head", "options", "trace"].includes(k))
        .sort();
    for (const [path, methods] of Object.entries(expected)) {
      expect(doc.paths, path).toHaveProperty([path]);
      expect(methodsOf(doc.paths[path]), path).toEqual(methods.sort());
    }
    const keyPaths = Object.keys(doc.paths).filter((path) => path.includes("/keys"));
    expect(keyPaths.sort()).toEqual(Object.keys(expected).sort());
  });

  it("gives every operation a unique operationId", () => {
    const ids: string[] = [];
    for (const item of Object.values<any>(doc.paths)) {
      for (const operation of Object.values<any>(item)) if (operation?.operationId) ids.push(operation.operationId);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const { prefix, suffix } of MOUNTS) {
      for (const name of Object.keys(OPERATIONS) as OperationName[]) {
        expect(operationOf(name, prefix).operationId).toBe(name + suffix);
      }
    }
  });

  it("declares the {id} and {pool} path parameters wherever the path has them", () => {
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      const placeholders = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const operation of Object.values<any>(item)) {
        const declared = (operation.parameters ?? []).filter((p: any) => p.in === "path");
        expect(declared.map((p: any) => p.name).sort(), path).toEqual(placeholders);
        for (const parameter of declared) expect(parameter.required, `${path} ${parameter.name}`).toBe(true);
      }
    }
  });

  describe.each(MOUNTS)("under $prefix", ({ prefix }) => {
    it.each(Object.keys(OPERATIONS) as OperationName[])(
      "%s declares every status it answers, each error with the JSON error schema",
      (name) => {
        const operation = operationOf(name, prefix);
        const statuses = prefix === "/keys" ? STATUSES[name] : [...new Set([...STATUSES[name], 400])];
        for (const status of statuses) {
          const schema = responseOf(doc, operation, status)?.content?.["application/json"]?.schema;
          expect(schema, `${name} ${status}`).toBeDefined();
          if (status < 400) continue;
          expect(validate({ error: "Key not found" }, schema).valid).toBe(true);
          expect(validate({ error: "Bad", details: [{ path: "body.count", message: "Too big" }] }, schema).valid).toBe(
            true,
          );
          expect(validate({ error: "Bad", details: { contentType: "text/plain" } }, schema).valid).toBe(false);
          expect(validate({ error: "" }, schema).valid).toBe(false);
          expect(validate({ message: "x" }, schema).valid).toBe(false);
        }
      },
    );
  });

  it("documents keep-alive's optional ?lease query parameter as a positive integer", () => {
    for (const { prefix } of MOUNTS) {
      const parameters = operationOf("keepAlive", prefix).parameters ?? [];
      const lease = parameters.find((p: any) => p.in === "query" && p.name === "lease");
      expect(lease, prefix).toBeDefined();
      expect(lease.required ?? false).toBe(false);
      expect(validate(3, lease.schema).valid).toBe(true);
      for (const bad of [0, -1, 1.5, "x"]) expect(validate(bad, lease.schema).valid, String(bad)).toBe(false);
    }
  });

  it("documents the pool name rule the server enforces", () => {
    const pool = operationOf("assignKey", "/pools/{pool}/keys").parameters.find((p: any) => p.name === "pool");
    for (const ok of ["payments", "a", "A-z_09", "a".repeat(64)])
      expect(validate(ok, pool.schema).valid, ok).toBe(true);
    for (const bad of ["", "a".repeat(65), "a.b", "a b", "a/b"])
      expect(validate(bad, pool.schema).valid, bad).toBe(false);
  });

  it("documents request bodies that accept what the server accepts and reject what it refuses", () => {
    const createBody = operationOf("createKeys", "/keys").requestBody.content["application/json"].schema;
    const updateBody = operationOf("updateKey", "/keys").requestBody.content["application/json"].schema;
    const creates = [{}, { count: 1 }, { count: 1000 }, { count: 2, label: "a" }, { keys: [{ key: "k", label: "a" }] }];
    for (const ok of creates) expect(validate(ok, createBody).valid, JSON.stringify(ok)).toBe(true);
    const badCreates = [
      ...[{ count: 0 }, { count: 1001 }, { count: 1.5 }, { count: "2" }, { count: 1, x: 1 }, null, []],
      ...[{ label: "" }, { label: "a\u0007" }, { keys: [] }, { keys: [{ key: "" }] }, { keys: [{ key: "k", x: 1 }] }],
      ...[
        { keys: [{ key: "k" }], count: 1 },
        { keys: [{ key: "k" }], label: "a" },
        { keys: [{ key: "x".repeat(8193) }] },
      ],
    ];
    for (const bad of badCreates) expect(validate(bad, createBody).valid, JSON.stringify(bad)).toBe(false);
    for (const ok of [{ blocked: true }, { blocked: false, lease: 3 }, { label: "a" }, { label: null }])
      expect(validate(ok, updateBody).valid, JSON.stringify(ok)).toBe(true);
    const badUpdates = [{}, { blocked: "false" }, { blocked: true, lease: 0 }, { blocked: true, lease: 1.5 }, null];
    for (const bad of [
      ...badUpdates,
      { lease: 3 },
      { label: "a", blocked: true },
      { label: "a", lease: 1 },
      { label: "" },
    ]) {
      expect(validate(bad, updateBody).valid, JSON.stringify(bad)).toBe(false);
    }
    expect(validate({ blocked: true, extra: 1 }, updateBody).valid).toBe(false);
  });
});

/**
 * Real requests, one per operation and status: the answer's status must be declared for that
 * operation and its JSON body must validate against the declared schema, with no undeclared field.
 */
describe("the API answers as its OpenAPI document says", () => {
  type Send = (base: string) => Promise<Reply>;
  const keyIn = async (base: string) => `${base}/${await createKey(base)}`;
  const blockedIn = async (base: string) => {
    const keyId = await createKey(base);
    return { path: `${base}/${keyId}`, lease: (await blockKey(base, keyId)).lease as number };
  };
  const scenarios: Array<[OperationName, number, string, Send]> = [
    ["createKeys", 201, "one key", (base) => call("POST", base)],
    ["createKeys", 201, "count keys", (base) => call("POST", base, { json: { count: 3 } })],
    ["createKeys", 400, "bad count", (base) => call("POST", base, { json: { count: 1001 } })],
    ["createKeys", 400, "malformed JSON", (base) => call("POST", base, { body: "{", headers: JSON_TYPE })],
    ["createKeys", 413, "oversized body", (base) => call("POST", base, { body: oversizedCreate, headers: JSON_TYPE })],
    ["createKeys", 415, "form body", (base) => call("POST", base, { body: "count=1" })],
    [
      "assignKey",
      200,
      "a free key",
      async (base) => {
        await createKey(base);
        return call("GET", base);
      },
    ],
    [
      "assignKey",
      404,
      "none free",
      async (base) => {
        await drain(base);
        return call("GET", base);
      },
    ],
    ["getKey", 200, "a free key", async (base) => call("GET", await keyIn(base))],
    ["getKey", 403, "a blocked key", async (base) => call("GET", (await blockedIn(base)).path)],
    ["getKey", 404, "an unknown key", (base) => call("GET", `${base}/${unknownId()}`)],
    ["getKeyInfo", 200, "a free key", async (base) => call("GET", `${await keyIn(base)}/info`)],
    ["getKeyInfo", 200, "a blocked key", async (base) => call("GET", `${(await blockedIn(base)).path}/info`)],
    ["getKeyInfo", 404, "an unknown key", (base) => call("GET", `${base}/${unknownId()}/info`)],
    ["deleteKey", 200, "a key", async (base) => call("DELETE", await keyIn(base))],
    ["deleteKey", 404, "an unknown key", (base) => call("DELETE", `${base}/${unknownId()}`)],
    ["updateKey", 200, "block", async (base) => call("PUT", await keyIn(base), { json: { blocked: true } })],
    [
      "updateKey",
      200,
      "renew",
      async (base) => {
        const { path, lease } = await blockedIn(base);
        return call("PUT", path, { json: { blocked: true, lease } });
      },
    ],
    [
      "updateKey",
      200,
      "unblock",
      async (base) => call("PUT", (await blockedIn(base)).path, { json: { blocked: false } }),
    ],
    ["updateKey", 400, "bad body", async (base) => call("PUT", await keyIn(base), { json: { blocked: "no" } })],
    ["updateKey", 404, "an unknown key", (base) => call("PUT", `${base}/${unknownId()}`, { json: { blocked: true } })],
    [
      "updateKey",
      409,
      "a held key",
      async (base) => call("PUT", (await blockedIn(base)).path, { json: { blocked: true } }),
    ],
    [
      "updateKey",
      413,
      "oversized body",
      async (base) => call("PUT", await keyIn(base), { body: oversized, headers: JSON_TYPE }),
    ],
    ["updateKey", 415, "text body", async (base) => call("PUT", await keyIn(base), { body: '{"blocked":true}' })],
    ["keepAlive", 200, "a free key", async (base) => call("PUT", `${await keyIn(base)}/alive`)],
    [
      "keepAlive",
      200,
      "a blocked key with its lease",
      async (base) => {
        const { path, lease } = await blockedIn(base);
        return call("PUT", `${path}/alive?lease=${lease}`);
      },
    ],
    ["keepAlive", 400, "a bad lease", async (base) => call("PUT", `${await keyIn(base)}/alive?lease=0`)],
    ["keepAlive", 404, "an unknown key", (base) => call("PUT", `${base}/${unknownId()}/alive`)],
    ["keepAlive", 409, "a wrong lease", async (base) => call("PUT", `${await keyIn(base)}/alive?lease=1`)],
    ["updateKey", 200, "disable", async (base) => call("PUT", await keyIn(base), { json: { disabled: true } })],
    [
      "updateKey",
      409,
      "block a disabled key",
      async (base) => {
        const path = await keyIn(base);
        await call("PUT", path, { json: { disabled: true } });
        return call("PUT", path, { json: { blocked: true } });
      },
    ],
    [
      "assignKey",
      404,
      "none free, one cooling",
      async (base) => {
        await drain(base);
        const path = await keyIn(base);
        await call("POST", `${path}/report`, { json: { outcome: "rate_limited", retryAfterSeconds: 30 } });
        return call("GET", `${base}?waitSeconds=0.01`);
      },
    ],
    [
      "reportKey",
      200,
      "rate_limited by the holder",
      async (base) => {
        const keyId = await createKey(base);
        const { leaseToken } = await blockKey(base, keyId);
        return call("POST", `${base}/${keyId}/report`, {
          json: { outcome: "rate_limited", retryAfterSeconds: 2.5 },
          headers: { "KeyPool-Lease-Token": leaseToken },
        });
      },
    ],
    [
      "reportKey",
      200,
      "error by an admin",
      async (base) => call("POST", `${await keyIn(base)}/report`, { json: { outcome: "error" } }),
    ],
    [
      "reportKey",
      400,
      "bad outcome",
      async (base) => call("POST", `${await keyIn(base)}/report`, { json: { outcome: "fine" } }),
    ],
    [
      "reportKey",
      404,
      "an unknown key",
      (base) => call("POST", `${base}/${unknownId()}/report`, { json: { outcome: "ok" } }),
    ],
    [
      "reportKey",
      409,
      "a client without the secret",
      async (base) => {
        const keyId = await createKey(base);
        await blockKey(base, keyId);
        return call("POST", `${base}/${keyId}/report`, { json: { outcome: "ok" }, token: CLIENT_TOKEN });
      },
    ],
    [
      "reportKey",
      413,
      "oversized body",
      async (base) => call("POST", `${await keyIn(base)}/report`, { body: oversized, headers: JSON_TYPE }),
    ],
    [
      "reportKey",
      415,
      "text body",
      async (base) => call("POST", `${await keyIn(base)}/report`, { body: '{"outcome":"ok"}' }),
    ],
    ["createKeys", 401, "no token", (base) => call("POST", base, { token: null })],
    ["assignKey", 401, "a wrong token", (base) => call("GET", base, { token: "not-a-configured-token-0000" })],
    ["createKeys", 403, "a client token", (base) => call("POST", base, { token: CLIENT_TOKEN })],
    ["deleteKey", 403, "a client token", async (base) => call("DELETE", await keyIn(base), { token: CLIENT_TOKEN })],
    [
      "updateKey",
      403,
      "a client token without the lease",
      async (base) => call("PUT", await keyIn(base), { json: { blocked: true }, token: CLIENT_TOKEN }),
    ],
  ];
  const badPoolScenarios: Array<[OperationName, number, string, Send]> = (
    Object.keys(OPERATIONS) as OperationName[]
  ).map((name) => [
    name,
    400,
    "a bad pool name",
    () => {
      const [method, path] = OPERATIONS[name];
      const options =
        name === "updateKey" ? { json: { blocked: true } } : name === "reportKey" ? { json: { outcome: "ok" } } : {};
      return call(method.toUpperCase(), `/pools/a.b/keys${path.replace("{id}", unknownId())}`, options);
    },
  ]);

  describe.each([
    { prefix: "/keys", base: () => "/keys", cases: scenarios },
    { prefix: "/pools/{pool}/keys", base: poolBase, cases: [...scenarios, ...badPoolScenarios] },
  ])("under $prefix", ({ prefix, base, cases }) => {
    it.each(cases)("%s answering %i (%s) matches the document", async (name, status, _case, send) => {
      const reply = await send(base());
      expect(reply.status, JSON.stringify(reply.body)).toBe(status);

      const operation = operationOf(name, prefix);
      expect(Object.keys(operation.responses), `${name} does not declare ${status}`).toContain(String(status));
      const schema = responseOf(doc, operation, status).content?.["application/json"]?.schema;
      expect(schema, `${name} ${status} declares no JSON body`).toBeDefined();
      expect(reply.headers.get("content-type")).toMatch(/^application\/json/);

      const result = validate(reply.body, schema);
      expect(result.errors, JSON.stringify(reply.body)).toEqual([]);
      expect(result.valid).toBe(true);
      const declared = declaredProperties(schema);
      for (const field of Object.keys(reply.body)) expect(declared, `undeclared field ${field}`).toContain(field);
      // Every header it sent is declared on that answer (content-type and length are the media's own).
      const headers = Object.keys(responseOf(doc, operation, status).headers ?? {}).map((h) => h.toLowerCase());
      for (const [header] of reply.headers) {
        if (header !== "content-type" && header !== "content-length") expect(headers, header).toContain(header);
      }
    });
  });
});

describe("answers outside any operation", () => {
  it.each([
    ["an unknown route", 404, () => call("GET", "/nothing-here")],
    ["a wrong method", 405, () => call("DELETE", "/keys")],
  ] as Array<[string, number, () => Promise<Reply>]>)(
    "%s (%i) has the document's Error body",
    async (_name, status, send) => {
      const reply = await send();
      expect(reply.status).toBe(status);
      expect(validate(reply.body, { $ref: "#/components/schemas/Error" }).valid).toBe(true);
    },
  );
});
