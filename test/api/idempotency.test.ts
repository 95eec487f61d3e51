import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, uniquePool } from "../support/http";
import { storedKeyCount } from "../support/pool";

const stubOf = (pool: string) => env.KEY_POOL.getByName(pool);
const idempotencyRows = (pool: string) =>
  runInDurableObject(
    stubOf(pool),
    (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM idempotency").one().n,
  );

function idem(key: string = crypto.randomUUID()): Record<string, string> {
  return { "Idempotency-Key": key };
}

describe("Idempotency-Key on POST /keys", () => {
  it("answers a repeat with the same id and creates nothing more", async () => {
    const pool = uniquePool();
    const headers = idem();
    const first = await call("POST", `/pools/${pool}/keys`, { headers });
    const again = await call("POST", `/pools/${pool}/keys`, { headers });
    expect(first.status).toBe(201);
    expect(again).toMatchObject({ status: 201, body: first.body });
    expect(await storedKeyCount(stubOf(pool))).toBe(1);
  });

  it("replays a bulk create, and treats reformatted JSON as the same request", async () => {
    const pool = uniquePool();
    const headers = { ...idem(), "content-type": "application/json" };
    const first = await call("POST", `/pools/${pool}/keys`, { headers, body: '{"count":3}' });
    const again = await call("POST", `/pools/${pool}/keys`, { headers, body: '{ "count" : 3 }\n' });
    expect(first).toMatchObject({ status: 201, body: { keyIds: expect.any(Array) } });
    expect(again.body).toEqual(first.body);
    expect(await storedKeyCount(stubOf(pool))).toBe(3);
  });

  it("answers 422 and changes nothing when the key is reused with another body", async () => {
    const pool = uniquePool();
    const headers = idem();
    await call("POST", `/pools/${pool}/keys`, { headers, json: { count: 2 } });
    const other = await call("POST", `/pools/${pool}/keys`, { headers, json: { count: 5 } });
    expect(other.status).toBe(422);
    expect(other.body).toEqual({ error: expect.stringContaining("Idempotency-Key") });
    const noBody = await call("POST", `/pools/${pool}/keys`, { headers });
    expect(noBody.status).toBe(422);
    expect(await storedKeyCount(stubOf(pool))).toBe(2);
  });

  it("keeps keys apart per pool", async () => {
    const [a, b] = [uniquePool(), uniquePool()];
    const headers = idem();
    const inA = await call("POST", `/pools/${a}/keys`, { headers });
    const inB = await call("POST", `/pools/${b}/keys`, { headers, json: { count: 2 } });
    expect(inA.status).toBe(201);
    expect(inB).toMatchObject({ status: 201, body: { keyIds: expect.any(Array) } });
  });

  it("without the header, every call does the work", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`);
    await call("POST", `/pools/${pool}/keys`);
    expect(await storedKeyCount(stubOf(pool))).toBe(2);
    expect(await idempotencyRows(pool)).toBe(0);
  });
});

describe("Idempotency-Key on GET /keys", () => {
  it("answers a retried assignment with the same key and lease instead of blocking a second key", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 2 } });
    const headers = idem();
    const first = await call("GET", `/pools/${pool}/keys`, { headers });
    const retry = await call("GET", `/pools/${pool}/keys`, { headers });
    expect(first.status).toBe(200);
    expect(retry).toMatchObject({ status: 200, body: first.body });
    // The other key is still free: only one was blocked.
    const other = await call("GET", `/pools/${pool}/keys`);
    expect(other.status).toBe(200);
    expect(other.body.keyId).not.toBe(first.body.keyId);
    expect(other.body.lease).toBe(first.body.lease + 1);
  });

  it("gives every one of many simultaneous retries the same key", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 10 } });
    const headers = idem();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call("GET", `/pools/${pool}/keys`, { headers })),
    );
    expect(new Set(answers.map((a) => JSON.stringify([a.status, a.body])))).toHaveLength(1);
    const free = await Promise.all(Array.from({ length: 10 }, () => call("GET", `/pools/${pool}/keys`)));
    expect(free.filter((a) => a.status === 200)).toHaveLength(9);
  });

  it("treats /keys and /pools/default/keys as the same request", async () => {
    await call("POST", "/keys");
    const headers = idem();
    const viaKeys = await call("GET", "/keys", { headers });
    const viaPool = await call("GET", "/pools/default/keys", { headers });
    expect(viaKeys.status).toBe(200);
    expect(viaPool.body).toEqual(viaKeys.body);
  });

  it("answers 422 for the same key with another query, or used before for a create", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 3 } });
    const headers = idem();
    await call("GET", `/pools/${pool}/keys?holdSeconds=120`, { headers });
    expect((await call("GET", `/pools/${pool}/keys?holdSeconds=121`, { headers })).status).toBe(422);
    expect((await call("GET", `/pools/${pool}/keys`, { headers })).status).toBe(422);
    expect((await call("POST", `/pools/${pool}/keys`, { headers })).status).toBe(422);
    expect(await storedKeyCount(stubOf(pool))).toBe(3);
    const free = await Promise.all([1, 2, 3].map(() => call("GET", `/pools/${pool}/keys`)));
    expect(free.map((a) => a.status).sort()).toEqual([200, 200, 404]);
  });

  it("replays a refusal too: the repeat answers what the first call answered", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`);
    const held = await call("GET", `/pools/${pool}/keys`);
    const headers = idem();
    const empty = await call("GET", `/pools/${pool}/keys`, { headers });
    expect(empty.status).toBe(404);
    await call("PUT", `/pools/${pool}/keys/${held.body.keyId}`, { json: { blocked: false } });
    expect(await call("GET", `/pools/${pool}/keys`, { headers })).toMatchObject({ status: 404, body: empty.body });
    expect((await call("GET", `/pools/${pool}/keys`, { headers: idem() })).status).toBe(200);
  });
});

describe("Idempotency-Key validation", () => {
  it.each([
    ["empty", ""],
    ["256 characters", "k".repeat(256)],
    ["a space", "two words"],
    ["a tab", "tab\there"],
  ])("answers 400 naming the header for a key with %s, and changes nothing", async (_what, value) => {
    const pool = uniquePool();
    for (const method of ["POST", "GET"]) {
      const answer = await call(method, `/pools/${pool}/keys`, { headers: { "Idempotency-Key": value } });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toContain("Idempotency-Key");
      expect(answer.body.details).toEqual([
        { path: "headers.Idempotency-Key", message: expect.stringContaining("visible ASCII") },
      ]);
    }
    // Refused before anything reached the pool: it was not even made.
    expect(await call("GET", `/pools/${pool}`)).toMatchObject({ status: 404, body: { error: "No such pool" } });
  });

  it("accepts 255 visible ASCII characters", async () => {
    const answer = await call("POST", `/pools/${uniquePool()}/keys`, { headers: idem("~".repeat(255)) });
    expect(answer.status).toBe(201);
  });
});
