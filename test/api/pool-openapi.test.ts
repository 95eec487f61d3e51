import { env } from "cloudflare:workers";
import { type Schema, Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { METRICS_CONTENT_TYPE } from "../../src/http/metrics-text";
import { DIRECTORY_NAME } from "../../src/pool-directory";
import { call, uniquePool } from "../support/http";
import { resolved } from "../support/openapi";
import { parseScrape } from "../support/prometheus";

async function document() {
  const response = await call("GET", "/openapi.json");
  expect(response.status).toBe(200);
  return response.body;
}

/** The properties of a response schema, following `$ref`s into the components and through `allOf`. */
function properties(doc: any, schema: any): string[] {
  if (schema.$ref !== undefined) return properties(doc, doc.components.schemas[schema.$ref.split("/").at(-1)]);
  if (schema.allOf !== undefined) return schema.allOf.flatMap((part: any) => properties(doc, part)).sort();
  return Object.keys(schema.properties).sort();
}

describe("the OpenAPI document", () => {
  it("declares the operator operations with every status they answer", async () => {
    const doc = await document();
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path][method].responses).sort();
    const access = ["401", "403", "429", "503"];
    // 404: a pool nobody made. Setting a pool's settings makes it, so that never answers 404.
    expect(statuses("/pools/{pool}", "get")).toEqual(["200", "400", ...access, "404", "500"].sort());
    expect(statuses("/pools/{pool}/list", "get")).toEqual(["200", "400", ...access, "404", "500"].sort());
    expect(statuses("/pools/{pool}/settings", "put")).toEqual(["200", "400", ...access, "413", "415", "500"].sort());
    for (const [path, method] of [
      ["/pools/{pool}", "get"],
      ["/pools/{pool}/list", "get"],
      ["/pools/{pool}/settings", "put"],
    ] as const) {
      expect(doc.paths[path][method].security).toEqual([{ bearerAuth: [] }]);
      expect(doc.paths[path][method].description).toContain("Role: admin.");
    }
    const query = doc.paths["/pools/{pool}/list"].get.parameters.filter((p: any) => p.in === "query");
    expect(query.map((p: any) => p.name).sort()).toEqual(["cursor", "limit", "state"]);
  });

  it("declares the directory and the metrics: statuses, admin only, their pages' bounds, text answers", async () => {
    const doc = await document();
    const statuses = (path: string) => Object.keys(doc.paths[path].get.responses).sort();
    const access = ["401", "403", "429", "503"];
    expect(statuses("/pools")).toEqual(["200", "400", ...access, "500"].sort());
    expect(statuses("/pools/{pool}/metrics")).toEqual(["200", "400", ...access, "404", "500"].sort());
    expect(statuses("/metrics")).toEqual(["200", "400", ...access, "500"].sort());
    const query = (path: string) =>
      Object.fromEntries(
        doc.paths[path].get.parameters.filter((p: any) => p.in === "query").map((p: any) => [p.name, p.schema]),
      );
    expect(query("/pools")).toEqual({
      limit: expect.objectContaining({ minimum: 1, maximum: 100, default: 50, format: "int32" }),
      cursor: expect.objectContaining({ maxLength: 200, pattern: "^[A-Za-z0-9_-]+$" }),
    });
    expect(query("/metrics")).toEqual({
      limit: expect.objectContaining({ minimum: 1, maximum: 1000, default: 1000, format: "int32" }),
      cursor: expect.objectContaining({ maxLength: 200, pattern: "^[A-Za-z0-9_-]+$" }),
    });
    for (const path of ["/pools", "/pools/{pool}/metrics", "/metrics"]) {
      const operation = doc.paths[path].get;
      expect(operation.security, path).toEqual([{ bearerAuth: [] }]);
      expect(operation.description, path).toContain("Role: admin.");
    }
    // What a call costs: the directory's operations fan out to each pool of the page.
    expect(doc.paths["/pools"].get.description).toContain("O(limit) RPCs");
    expect(doc.paths["/metrics"].get.description).toContain("O(limit) RPCs");
    expect(doc.paths["/pools/{pool}/metrics"].get.description).toContain("One call to the pool's object");
    expect(doc.paths["/pools"].get.description).toContain("DELETE /pools/{pool}");
    for (const path of ["/pools/{pool}/metrics", "/metrics"]) {
      const { content } = doc.paths[path].get.responses["200"];
      expect(Object.keys(content), path).toEqual([METRICS_CONTENT_TYPE]);
      const schema = content[METRICS_CONTENT_TYPE].schema;
      expect(schema).toMatchObject({ type: "string", maxLength: expect.any(Number) });
      // The example is a scrape a parser reads; errors stay JSON.
      expect(parseScrape(schema.example).get("keypool_keys")?.samples.length, path).toBeGreaterThan(0);
      expect(Object.keys(resolved(doc, doc.paths[path].get.responses["400"]).content)).toEqual(["application/json"]);
    }
  });

  it("describes the bodies the operator API really answers", async () => {
    const doc = await document();
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`);
    const body = (path: string, method: string) =>
      doc.paths[path][method].responses["200"].content["application/json"].schema;

    const stats = (await call("GET", `/pools/${pool}`)).body;
    expect(properties(doc, body("/pools/{pool}", "get"))).toEqual(Object.keys(stats).sort());
    const page = (await call("GET", `/pools/${pool}/list`)).body;
    expect(properties(doc, body("/pools/{pool}/list", "get"))).toEqual(Object.keys(page).sort());
    expect(properties(doc, doc.components.schemas.KeyPage.properties.keys.items)).toEqual(
      Object.keys(page.keys[0]).sort(),
    );
    const settings = (await call("PUT", `/pools/${pool}/settings`, { json: {} })).body;
    expect(properties(doc, body("/pools/{pool}/settings", "put"))).toEqual(Object.keys(settings).sort());
  });

  it("describes the directory's pages and the metrics texts the server really answers", async () => {
    const doc = await document();
    await call("POST", `/pools/${uniquePool()}/keys`);
    // A listed pool that holds nothing: its counts are null.
    await env.POOL_DIRECTORY.getByName(DIRECTORY_NAME).register(uniquePool());
    const page = (await call("GET", "/pools?limit=100")).body;
    expect(page.pools.some((entry: any) => entry.keys === null)).toBe(true);
    expect(page.pools.some((entry: any) => entry.keys !== null)).toBe(true);
    const schema = doc.paths["/pools"].get.responses["200"].content["application/json"].schema;
    const validator = new Validator({ ...schema, components: doc.components } as Schema, "2020-12", false);
    expect(validator.validate(page).errors).toEqual([]);
    expect(properties(doc, schema)).toEqual(Object.keys(page).sort());
    expect(properties(doc, doc.components.schemas.PoolPage.properties.pools.items)).toEqual(
      Object.keys(page.pools[0]).sort(),
    );

    const pool = page.pools.find((entry: any) => entry.keys !== null).pool;
    for (const [path, served] of [
      ["/pools/{pool}/metrics", `/pools/${pool}/metrics`],
      ["/metrics", "/metrics"],
    ] as const) {
      const reply = await call("GET", served);
      const [type] = Object.keys(doc.paths[path].get.responses["200"].content);
      expect(reply.headers.get("content-type"), path).toBe(type);
      const text = doc.paths[path].get.responses["200"].content[type as string].schema;
      expect(reply.body.length, path).toBeLessThanOrEqual(text.maxLength);
      expect(reply.body, path).toMatch(new RegExp(text.pattern));
    }
  });
});
