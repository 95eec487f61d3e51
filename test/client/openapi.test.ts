import { type Schema, Validator } from "@cfworker/json-schema";
import { beforeAll, describe, expect, it } from "vitest";
import { KeyPoolClient } from "../../packages/client/src/index.js";
import { OPERATIONS } from "../../packages/client/src/operations.js";
import { call } from "../support/http";

type Doc = { paths: Record<string, Record<string, any>>; components: unknown };
let doc: Doc;

beforeAll(async () => {
  doc = (await call("GET", "/openapi.json")).body;
});

/** Where each scope of operation is served: the key API twice, the operator API once. */
const MOUNTS = {
  keys: [
    { base: "/keys", suffix: "" },
    { base: "/pools/{pool}/keys", suffix: "InPool" },
  ],
  pool: [{ base: "/pools/{pool}", suffix: "" }],
  root: [{ base: "", suffix: "" }],
};

/** Every operation in the document: method, path template, the operation. */
function documented(): Array<{ method: string; path: string; operation: any }> {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );
}

/** Validates `value` against a schema of the document, resolving its `#/components/...` references. */
function validate(value: unknown, schema: unknown): { valid: boolean; errors: unknown } {
  const root = { ...(schema as object), components: doc.components } as Schema;
  return new Validator(root, "2020-12", false).validate(value);
}

describe("the client and /openapi.json agree", () => {
  it.each(Object.entries(OPERATIONS))("%s: method, path, statuses, query and headers", (operationId, op) => {
    for (const { base, suffix } of MOUNTS[op.scope]) {
      const entry = doc.paths[base + op.path]?.[op.method.toLowerCase()];
      expect(entry, `${op.method} ${base}${op.path}`).toBeDefined();
      expect(entry.operationId).toBe(operationId + suffix);
      const statuses = Object.keys(entry.responses).map(Number);
      expect(statuses).toContain(op.success);
      for (const status of op.handles) expect(statuses, `${operationId} documents ${status}`).toContain(status);
      const params: Array<{ in: string; name: string }> = entry.parameters ?? [];
      for (const name of op.query) expect(params).toContainEqual(expect.objectContaining({ in: "query", name }));
      const header = params.some((p) => p.in === "header" && p.name === "Idempotency-Key");
      expect(header, `${operationId} documents Idempotency-Key`).toBe(op.deduplicated);
    }
  });

  it("the client covers every documented operation", () => {
    const ids = Object.keys(OPERATIONS);
    for (const { method, path, operation } of documented()) {
      const id = String(operation.operationId).replace(/InPool$/, "");
      expect(ids, `${method} ${path}`).toContain(id);
    }
  });

  it("every client method sends a documented method and path, with a body and query the document accepts", async () => {
    const sent: Request[] = [];
    const fetch = async (request: Request) => {
      sent.push(request.clone());
      const body = { keyId: crypto.randomUUID(), key: "k", lease: 1, releaseAt: "", isBlocked: true, blockedAt: "x" };
      return new Response(JSON.stringify(body), { status: request.method === "POST" ? 201 : 200 });
    };
    const id = crypto.randomUUID();
    for (const pool of [undefined, "p"]) {
      const client = new KeyPoolClient({ baseUrl: "https://k.example", pool, fetch });
      await client.createKey();
      await client.createKey({ label: "one" });
      await client.createKeys(2);
      await client.createKeys(2, { label: "two" });
      await client.importKeys([{ key: "sk-imported-value-1", label: "imported" }, { key: "sk-imported-value-2" }]);
      await client.assign({ holdSeconds: 5 });
      await client.assign({ holdSeconds: 5, waitSeconds: 2.5 });
      await client.getKey(id);
      await client.info(id);
      await client.deleteKey(id);
      await client.update(id, { blocked: false });
      await client.setLabel(id, "renamed");
      await client.setLabel(id, null);
      await client.block(id, { lease: 3 });
      await client.unblock(id);
      await client.keepAlive(id, { lease: 3 });
      await client.reportKey(id, { outcome: "rate_limited", retryAfterSeconds: 2.5 });
      await client.reportKey(id, { outcome: "ok", release: true }, { leaseToken: "t" });
      await client.disableKey(id);
      await client.enableKey(id);
      const lease = await client.acquire({ keepAlive: false });
      await lease.release();
      const reporting = await client.acquire({ keepAlive: false });
      await reporting.report(new Response(null, { status: 503, headers: { "retry-after": "30" } }), { release: true });
      await client.withKey(() => new Response(null, { status: 429, headers: { "retry-after": "3" } }), {
        keepAlive: false,
        attempts: 1,
        waitSeconds: 1,
      });
      await client.poolStats();
      await client.listKeys({ state: "free", limit: 5, cursor: "abc" });
      await client.updateSettings({ blockTtlSeconds: 30, keysExpire: false });
      await client.listPools({ limit: 10, cursor: "cDpw" });
      await client.poolMetrics();
      await client.metrics({ limit: 500 });
    }
    const templates = documented().map(({ method, path, operation }) => ({
      method,
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`),
      operation,
    }));
    for (const request of sent) {
      const url = new URL(request.url);
      const match = templates.find((t) => t.method === request.method && t.pattern.test(url.pathname));
      expect(match, `${request.method} ${url.pathname}`).toBeDefined();
      const declared = new Set((match?.operation.parameters ?? []).map((p: { name: string }) => p.name));
      for (const name of url.searchParams.keys()) expect(declared, `${url.pathname}?${name}`).toContain(name);
      const text = await request.text();
      if (text === "") continue;
      const schema = match?.operation.requestBody?.content["application/json"].schema;
      expect(validate(JSON.parse(text), schema), `${request.method} ${url.pathname} ${text}`).toMatchObject({
        valid: true,
      });
    }
    expect(sent.length).toBe(64);
  });
});
