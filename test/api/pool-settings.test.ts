import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { call, uniquePool } from "../support/http";
import { DEFAULT_SETTINGS } from "../support/records";
import { KEY_TTL_MS } from "../support/timings";

function put(pool: string, json: unknown) {
  return call("PUT", `/pools/${pool}/settings`, { json });
}

describe("PUT /pools/{pool}/settings", () => {
  it("sets the TTLs used for deadlines set from then on, leaving existing ones as they were", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    const before = await call("POST", `/pools/${pool}/keys`);
    const response = await put(pool, { ...DEFAULT_SETTINGS, keyTtlSeconds: 10, blockTtlSeconds: 2.5 });
    expect(response).toMatchObject({ status: 200, body: { keyTtlSeconds: 10, blockTtlSeconds: 2.5 } });
    const t = clock.nowMs;
    const after = await call("POST", `/pools/${pool}/keys`);

    const oldInfo = await call("GET", `/pools/${pool}/keys/${before.body.keyId}/info`);
    expect(Date.parse(oldInfo.body.expiresAt) - Date.parse(oldInfo.body.lastActivity)).toBe(KEY_TTL_MS);
    const newInfo = await call("GET", `/pools/${pool}/keys/${after.body.keyId}/info`);
    expect(Date.parse(newInfo.body.expiresAt)).toBe(t + 10_000);

    // Keep-alive and blocks use the new values too, for old keys as well.
    const alive = await call("PUT", `/pools/${pool}/keys/${before.body.keyId}/alive`);
    expect(Date.parse(alive.body.expiresAt)).toBe(t + 10_000);
    const blocked = await call("PUT", `/pools/${pool}/keys/${before.body.keyId}`, { json: { blocked: true } });
    expect(Date.parse(blocked.body.releaseAt)).toBe(t + 2_500);
  });

  it("shows in GET /pools/{pool} and leaves other pools on the defaults", async () => {
    const pool = uniquePool();
    const other = uniquePool();
    await put(other, {});
    await put(pool, { blockTtlSeconds: 5 });
    expect((await call("GET", `/pools/${pool}`)).body.settings).toEqual({ ...DEFAULT_SETTINGS, blockTtlSeconds: 5 });
    expect((await call("GET", `/pools/${other}`)).body.settings).toEqual(DEFAULT_SETTINGS);
  });

  it("changes only the fields given, and null goes back to the default", async () => {
    const pool = uniquePool();
    await put(pool, { ...DEFAULT_SETTINGS, keyTtlSeconds: 20, blockTtlSeconds: 5 });
    expect((await put(pool, { blockTtlSeconds: 7 })).body).toEqual({
      ...DEFAULT_SETTINGS,
      keyTtlSeconds: 20,
      blockTtlSeconds: 7,
    });
    expect((await put(pool, { keyTtlSeconds: null })).body).toEqual({ ...DEFAULT_SETTINGS, blockTtlSeconds: 7 });
    expect((await put(pool, {})).body).toEqual({ ...DEFAULT_SETTINGS, blockTtlSeconds: 7 });
  });

  it("keeps the settings across an eviction", async () => {
    const pool = uniquePool();
    await put(pool, { keyTtlSeconds: 42 });
    await evictDurableObject(env.KEY_POOL.getByName(pool));
    expect((await call("GET", `/pools/${pool}`)).body.settings.keyTtlSeconds).toBe(42);
  });

  it("keeps whole milliseconds", async () => {
    const pool = uniquePool();
    expect((await put(pool, { keyTtlSeconds: 1.0004 })).body.keyTtlSeconds).toBe(1);
  });

  it.each([
    [{ keyTtlSeconds: 0 }],
    [{ keyTtlSeconds: -1 }],
    [{ keyTtlSeconds: 0.0004 }],
    [{ blockTtlSeconds: 365 * 24 * 3600 + 1 }],
    [{ blockTtlSeconds: "60" }],
    [{ keyTtlSeconds: 10, colour: "red" }],
    [[]],
    ["60"],
  ])("rejects %j with 400 and changes nothing", async (body) => {
    const pool = uniquePool();
    await put(pool, {});
    const response = await put(pool, body);
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual(expect.any(String));
    const { settings } = (await call("GET", `/pools/${pool}`)).body;
    expect(settings).toEqual(DEFAULT_SETTINGS);
  });

  it("rejects a revealValues that is not anyone or holder, naming the field", async () => {
    const pool = uniquePool();
    const response = await put(pool, { revealValues: "everyone" });
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([{ path: "body.revealValues", message: expect.any(String) }]);
  });

  it("rejects a missing or malformed body with 400, and a non-JSON one with 415", async () => {
    const pool = uniquePool();
    expect((await call("PUT", `/pools/${pool}/settings`)).status).toBe(400);
    expect(
      (await call("PUT", `/pools/${pool}/settings`, { body: "{", headers: { "content-type": "application/json" } }))
        .status,
    ).toBe(400);
    const text = await call("PUT", `/pools/${pool}/settings`, {
      body: "a=1",
      headers: { "content-type": "text/plain" },
    });
    expect(text.status).toBe(415);
  });

  it("answers 405 with Allow for another method", async () => {
    const response = await call("GET", `/pools/${uniquePool()}/settings`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toContain("PUT");
  });
});
