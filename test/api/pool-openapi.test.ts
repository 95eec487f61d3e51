import { describe, expect, it } from "vitest";
import { call, uniquePool } from "../support/http";

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
});
