import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type Schema, Validator } from "@cfworker/json-schema";
import { beforeAll, describe, expect, it } from "vitest";
import { buildRouter } from "../../src/http/router";
import { call, uniquePool } from "../support/http";
import { createKey, INFO_FIELDS, type Reply, unknownId } from "../support/keys";
import { resolved, responseOf } from "../support/openapi";

/**
 * The document is as strict as the server: every bound the server enforces is stated in it (so a
 * generated client, a gateway or a linter knows it), and what it says is what the server does.
 */
let doc: any;

beforeAll(async () => {
  doc = (await call("GET", "/openapi.json", { token: null })).body;
});

function operation(path: string, method: string): any {
  return doc.paths[path][method];
}

function parameter(path: string, method: string, name: string): any {
  return operation(path, method).parameters.find((p: any) => p.name === name);
}

function valid(value: unknown, schema: unknown): boolean {
  return new Validator({ ...(schema as object), components: doc.components } as Schema, "2020-12", false).validate(
    value,
  ).valid;
}

/** Every schema object in the document, wherever it is. */
function schemas(node: any, found: any[] = []): any[] {
  if (node === null || typeof node !== "object") return found;
  if (typeof node.type === "string" || Array.isArray(node.type)) found.push(node);
  for (const value of Object.values(node)) schemas(value, found);
  return found;
}

describe("the document states every bound the server enforces", () => {
  it("on path ids, pool names, Idempotency-Key, holdSeconds, lease, count and the list's page", () => {
    expect(parameter("/keys/{id}", "get", "id").schema).toMatchObject({ maxLength: 36, format: "uuid" });
    expect(parameter("/pools/{pool}", "get", "pool").schema).toMatchObject({ minLength: 1, maxLength: 64 });
    expect(parameter("/keys", "post", "Idempotency-Key").schema).toMatchObject({ minLength: 1, maxLength: 255 });
    expect(parameter("/keys", "get", "holdSeconds").schema).toMatchObject({
      minimum: 1,
      maximum: 3600,
      format: "int32",
    });
    expect(parameter("/keys/{id}/alive", "put", "lease").schema).toMatchObject({ format: "int64" });
    expect(parameter("/pools/{pool}/list", "get", "limit").schema).toMatchObject({ maximum: 1000, format: "int32" });
    expect(parameter("/pools/{pool}/list", "get", "cursor").schema).toMatchObject({ maxLength: 200 });
    const { schemas: components } = doc.components;
    expect(components.CreateKeys.properties.count).toMatchObject({ maximum: 1000, format: "int32" });
    expect(components.CreatedMany.properties.keyIds).toMatchObject({ maxItems: 1000 });
    expect(components.KeyPage.properties.keys).toMatchObject({ maxItems: 1000 });
  });

  it("gives every integer a format and both bounds, and every string a length bound or a closed set", () => {
    for (const schema of schemas(doc.paths).concat(schemas(doc.components))) {
      const types = [schema.type].flat();
      if (types.includes("integer")) {
        expect(schema, JSON.stringify(schema)).toMatchObject({ format: expect.stringMatching(/^int(32|64)$/) });
        expect(schema.minimum ?? schema.exclusiveMinimum, JSON.stringify(schema)).toBeDefined();
        expect(schema.maximum, JSON.stringify(schema)).toBeDefined();
      }
      if (types.includes("string")) {
        const bounded = schema.maxLength !== undefined || schema.enum !== undefined || schema.const !== undefined;
        expect(bounded, JSON.stringify(schema)).toBe(true);
      }
    }
  });

  it("states the hold limit the server is configured with (MAX_HOLD_SECONDS)", async () => {
    const shortHolds = { ...env, MAX_HOLD_SECONDS: "120" } as Env;
    const router = buildRouter();
    const response = await router.fetch(
      new Request("http://keypool.test/openapi.json"),
      shortHolds,
      createExecutionContext(),
    );
    const configured = (await response.json()) as any;
    const hold = configured.paths["/keys"].get.parameters.find((p: any) => p.name === "holdSeconds");
    expect(hold.schema.maximum).toBe(120);
  });

  const UUID = "00000000-0000-4000-8000-000000000000";

  /** A value on each side of each bound: the document's schema and the server agree on every one. */
  const cases: Array<[string, string, string, unknown, (value: any) => Promise<Reply>]> = [
    ["/pools/{pool}", "get", "pool", "a".repeat(64), (v) => call("GET", `/pools/${v}`)],
    ["/pools/{pool}", "get", "pool", "a".repeat(65), (v) => call("GET", `/pools/${v}`)],
    ["/keys/{id}", "get", "id", UUID, (v) => call("GET", `/pools/${uniquePool()}/keys/${v}`)],
    ["/keys/{id}", "get", "id", `${UUID}0`, (v) => call("GET", `/pools/${uniquePool()}/keys/${v}`)],
    ["/keys", "get", "holdSeconds", 3600, (v) => assignIn(`holdSeconds=${v}`)],
    ["/keys", "get", "holdSeconds", 3601, (v) => assignIn(`holdSeconds=${v}`)],
    ["/keys", "post", "Idempotency-Key", "k".repeat(255), (v) => createWith(v)],
    ["/keys", "post", "Idempotency-Key", "k".repeat(256), (v) => createWith(v)],
    ["/pools/{pool}/list", "get", "limit", 1000, (v) => call("GET", `/pools/${uniquePool()}/list?limit=${v}`)],
    ["/pools/{pool}/list", "get", "limit", 1001, (v) => call("GET", `/pools/${uniquePool()}/list?limit=${v}`)],
    [
      "/pools/{pool}/list",
      "get",
      "cursor",
      "a".repeat(201),
      (v) => call("GET", `/pools/${uniquePool()}/list?cursor=${v}`),
    ],
  ];

  it.each(cases)(
    "%s %s: %s = %j is valid in the document exactly when the server accepts it",
    async (path, method, name, value, send) => {
      const documented = valid(value, parameter(path, method, name).schema);
      const reply = await send(value);
      expect(reply.status === 400, JSON.stringify(reply.body)).toBe(!documented);
    },
  );

  async function assignIn(query: string): Promise<Reply> {
    const base = `/pools/${uniquePool()}/keys`;
    await createKey(base);
    return call("GET", `${base}?${query}`);
  }

  function createWith(idempotencyKey: string): Promise<Reply> {
    return call("POST", `/pools/${uniquePool()}/keys`, { headers: { "Idempotency-Key": idempotencyKey } });
  }
});

describe("the document's examples are true and tell answers apart", () => {
  it("shows no example value for Idempotency-Key, which must differ on every call", () => {
    for (const item of Object.values<any>(doc.paths)) {
      for (const op of Object.values<any>(item)) {
        const header = op.parameters?.find((p: any) => p.name === "Idempotency-Key");
        if (header === undefined) continue;
        expect(header.example).toBeUndefined();
        expect(header.schema.example).toBeUndefined();
      }
    }
  });

  it("uses different example ids for a key's id and its value", () => {
    for (const name of ["Assignment", "KeyValue"]) {
      const { keyId, key } = doc.components.schemas[name].properties;
      expect(keyId.example, name).not.toBe(key.example);
    }
  });

  it("shows composed answers as objects with all their fields", () => {
    for (const [name, schema] of Object.entries<any>(doc.components.schemas))
      expect(schema.allOf, name).toBeUndefined();
    const fields = INFO_FIELDS;
    expect(Object.keys(doc.components.schemas.KeyInfoWithLease.properties).sort()).toEqual(
      [...fields, "lease", "leaseToken"].sort(),
    );
    expect(Object.keys(doc.components.schemas.ListedKey.properties).sort()).toEqual(["keyId", ...fields].sort());
  });

  it("gives each error answer examples of its own, each the very body the server sends", async () => {
    const examplesOf = (path: string, method: string, status: number) => {
      const media = responseOf(doc, operation(path, method), status).content["application/json"];
      return Object.values<any>(media.examples).map((example) => resolved(doc, example).value);
    };
    const base = `/pools/${uniquePool()}/keys`;
    const keyId = await createKey(base);
    await call("GET", base); // the only key is now blocked
    const real = {
      noneFree: (await call("GET", base)).body,
      blocked: (await call("GET", `${base}/${keyId}`)).body,
      unknown: (await call("GET", `${base}/${unknownId()}`)).body,
      held: (await call("PUT", `${base}/${keyId}`, { json: { blocked: true } })).body,
      noToken: (await call("GET", base, { token: null })).body,
      noPool: (await call("GET", `/pools/${uniquePool()}/keys`)).body,
    };
    expect(examplesOf("/keys", "get", 404)).toEqual([real.noPool, real.noneFree]);
    expect(examplesOf("/keys/{id}", "get", 404)).toEqual([real.noPool, real.unknown]);
    expect(examplesOf("/keys/{id}", "get", 403)).toContainEqual(real.blocked);
    expect(examplesOf("/keys/{id}", "put", 409)).toContainEqual(real.held);
    expect(examplesOf("/keys", "get", 401)).toContainEqual(real.noToken);
    // No two statuses of one operation share their examples.
    for (const item of Object.values<any>(doc.paths)) {
      for (const op of Object.values<any>(item)) {
        const seen = Object.keys(op.responses)
          .filter((status) => Number(status) >= 400)
          .map((status) => JSON.stringify(resolved(doc, op.responses[status]).content["application/json"].examples));
        expect(new Set(seen).size, op.operationId).toBe(seen.length);
      }
    }
  });
});

describe("the document's frame", () => {
  it("declares its tags, a server, and the API's contact and license", () => {
    const tags = doc.tags.map((tag: any) => tag.name);
    for (const item of Object.values<any>(doc.paths)) {
      for (const op of Object.values<any>(item)) for (const tag of op.tags) expect(tags).toContain(tag);
    }
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
    expect(doc.info.contact.name).toEqual(expect.any(String));
    expect(doc.info.license.name).toEqual(expect.any(String));
  });
});
