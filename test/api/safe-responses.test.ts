import { describe, expect, it } from "vitest";
import { CLIENT_TOKEN, call, uniquePool } from "../support/http";
import { resolved, responseOf } from "../support/openapi";

describe("responses that carry a key value", () => {
  it.each(["/keys", "/pools/{pool}/keys"])("are never stored by a cache, under %s", async (mount) => {
    const base = mount.replace("{pool}", uniquePool());
    for (const token of [undefined, CLIENT_TOKEN]) {
      const { keyId } = (await call("POST", base)).body;
      const value = await call("GET", `${base}/${keyId}`, { token });
      expect(value.body.key).toEqual(expect.any(String));
      expect(value.headers.get("Cache-Control")).toBe("no-store");

      const assigned = await call("GET", base, { token });
      expect(assigned.body.key).toEqual(expect.any(String));
      expect(assigned.headers.get("Cache-Control")).toBe("no-store");
      expect(assigned.headers.get("X-Content-Type-Options")).toBe("nosniff");
    }
  });
});

describe("every response", () => {
  it("carries X-Content-Type-Options: nosniff and CORS headers, errors and public pages too", async () => {
    const pool = uniquePool();
    const { keyId } = (await call("POST", `/pools/${pool}/keys`)).body;
    await call("GET", `/pools/${pool}/keys`); // blocks it
    const answers = [
      await call("GET", `/pools/${pool}/keys/${keyId}/info`), // 200
      await call("GET", `/pools/${pool}/keys/${keyId}`), // 403 blocked
      await call("DELETE", `/pools/${pool}/keys/${keyId}`, { token: CLIENT_TOKEN }), // 403 role
      await call("GET", `/pools/${pool}/keys`, { token: null }), // 401
      await call("GET", `/pools/${pool}/keys`), // 404 none free
      await call("PATCH", `/pools/${pool}/keys`), // 405
      await call("GET", "/openapi.json", { token: null }),
      await call("GET", "/openapi.yaml", { token: null }),
      await call("OPTIONS", "/keys", { token: null, headers: { Origin: "https://app.example" } }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 403, 403, 401, 404, 405, 200, 200, 204]);
    for (const answer of answers) {
      expect(answer.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(answer.headers.get("Access-Control-Allow-Origin")).toBe("*");
    }
  });

  it("lets browser clients read the authentication and rate limit headers", async () => {
    const response = await call("GET", "/keys", { token: null, headers: { Origin: "https://app.example" } });
    expect(response.status).toBe(401);
    const exposed = response.headers.get("Access-Control-Expose-Headers")?.split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(["WWW-Authenticate", "Retry-After", "Allow"]));
  });
});

describe("error messages", () => {
  it("never show a key's value or id, whoever asks and whatever fails", async () => {
    const pool = uniquePool();
    const base = `/pools/${pool}/keys`;
    const { keyIds } = (await call("POST", base, { json: { count: 3 } })).body as { keyIds: string[] };
    const held = (await call("GET", base)).body;
    const values = [held.key];
    for (const id of keyIds.filter((id) => id !== held.keyId))
      values.push((await call("GET", `${base}/${id}`)).body.key);
    const secrets = [...keyIds, ...values];

    const failures = [
      await call("GET", `${base}/${held.keyId}`), // 403 blocked
      await call("GET", `${base}/${held.keyId}`, { token: CLIENT_TOKEN }),
      await call("PUT", `${base}/${held.keyId}`, { json: { blocked: true } }), // 409 held
      await call("PUT", `${base}/${held.keyId}`, { json: { blocked: false, lease: held.lease + 1 } }), // 409
      await call("PUT", `${base}/${held.keyId}/alive?lease=${held.lease + 1}`, { token: CLIENT_TOKEN }), // 409
      await call("PUT", `${base}/${held.keyId}`, { json: { blocked: false }, token: CLIENT_TOKEN }), // 403 role
      await call("DELETE", `${base}/${keyIds[0]}`, { token: CLIENT_TOKEN }), // 403 role
      await call("GET", `${base}/${keyIds[0]}`, { token: null }), // 401
      await call("GET", `${base}/${crypto.randomUUID()}`), // 404
    ];
    expect(failures.map((f) => f.status)).toEqual([403, 403, 409, 409, 409, 403, 403, 401, 404]);
    for (const failure of failures) {
      const text = JSON.stringify(failure.body) + JSON.stringify([...failure.headers]);
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});

describe("the OpenAPI document", () => {
  const ADMIN_ONLY = [
    "createKeys",
    "deleteKey",
    "listPools",
    "getPool",
    "listKeys",
    "updatePoolSettings",
    "retirePool",
    "getAudit",
    "getPoolMetrics",
    "getMetrics",
  ];
  const LEASE_FOR_CLIENTS = ["updateKey"];

  it("declares the bearer scheme, and per operation its security, roles and access errors", async () => {
    const doc = (await call("GET", "/openapi.json", { token: null })).body;
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toBeUndefined(); // the docs themselves are public

    const error = { $ref: "#/components/schemas/Error" };
    const header = (ref: { $ref: string }) => resolved(doc, ref);
    let operations = 0;
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        operations++;
        const where = `${method.toUpperCase()} ${path}`;
        const id = op.operationId.replace(/InPool$/, "");
        expect(op.security, where).toEqual([{ bearerAuth: [] }]);
        for (const status of ["401", "429", "503"])
          expect(responseOf(doc, op, status).content["application/json"].schema, `${where} ${status}`).toEqual(error);
        expect(header(responseOf(doc, op, 401).headers["WWW-Authenticate"]), where).toMatchObject({ required: true });
        expect(header(responseOf(doc, op, 429).headers["Retry-After"]).schema.type, where).toBe("integer");

        if (ADMIN_ONLY.includes(id)) {
          expect(op.description, where).toContain("Role: admin.");
          expect(op.responses["403"].description, where).toMatch(/needs an admin token/);
        } else if (LEASE_FOR_CLIENTS.includes(id)) {
          expect(op.description, where).toContain("client only as the key's holder, with its `KeyPool-Lease-Token`");
          expect(op.responses["403"].description, where).toMatch(
            /without its KeyPool-Lease-Token needs an admin token/,
          );
        } else {
          expect(op.description, where).toContain("Roles: admin, client.");
          expect(op.responses["403"]?.description ?? "", where).not.toMatch(/admin token/);
        }
      }
    }
    expect(operations).toBe(24);
  });
});
