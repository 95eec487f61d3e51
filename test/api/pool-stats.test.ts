import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configOf } from "../../src/config";
import { COUNTERS } from "../../src/pool/events";
import { useFakeClock } from "../support/clock";
import { call, uniquePool } from "../support/http";
import { DEFAULT_SETTINGS } from "../support/records";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

/** Every counter of a pool that has seen nothing. */
const NO_COUNTS = Object.fromEntries(COUNTERS.map((counter) => [counter, 0]));

async function stats(pool: string) {
  const response = await call("GET", `/pools/${pool}`);
  expect(response.status).toBe(200);
  return response.body;
}

describe("GET /pools/{pool}", () => {
  it("answers a pool an admin made with no key yet with zero counts and the default settings", async () => {
    const pool = uniquePool();
    expect(await call("PUT", `/pools/${pool}/settings`, { json: {} })).toMatchObject({ status: 200 });
    expect(await stats(pool)).toEqual({
      pool,
      keys: { total: 0, free: 0, blocked: 0, cooling: 0, disabled: 0 },
      counters: { ...NO_COUNTS, created: 0 },
      settings: DEFAULT_SETTINGS,
      encryption: {
        sealingKey: (await configOf(env).valueKeys).sealing?.fingerprint,
        localDevelopmentKey: false,
        values: [],
        toReseal: 0,
        unavailable: 0,
      },
      waiting: 0,
    });
  });

  it("answers 404 for a pool nobody made", async () => {
    const response = await call("GET", `/pools/${uniquePool()}`);
    expect(response).toMatchObject({ status: 404, body: { error: "No such pool" } });
  });

  it("counts keys as they are created, assigned, unblocked and deleted", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 5 } });
    const assigned = await call("GET", `/pools/${pool}/keys`);
    await call("GET", `/pools/${pool}/keys`);
    expect(await stats(pool)).toMatchObject({
      keys: { total: 5, free: 3, blocked: 2 },
      counters: { created: 5, assigned: 2, released: 0, expired: 0, deleted: 0 },
    });
    // A manual unblock frees the key but is not an automatic release.
    await call("PUT", `/pools/${pool}/keys/${assigned.body.keyId}`, { json: { blocked: false } });
    await call("DELETE", `/pools/${pool}/keys/${assigned.body.keyId}`);
    expect(await stats(pool)).toMatchObject({
      keys: { total: 4, free: 3, blocked: 1 },
      counters: { created: 5, assigned: 2, released: 0, expired: 0, deleted: 1 },
    });
  });

  it("counts a blocked key that is deleted out of the blocked count", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 2 } });
    const { body } = await call("GET", `/pools/${pool}/keys`);
    await call("DELETE", `/pools/${pool}/keys/${body.keyId}`);
    expect((await stats(pool)).keys).toEqual({ total: 1, free: 1, blocked: 0, cooling: 0, disabled: 0 });
  });

  it("counts automatic releases and expiries fired by the alarm", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 3 } });
    await call("GET", `/pools/${pool}/keys`);
    clock.advance(BLOCK_TTL_MS);
    await runDurableObjectAlarm(env.KEY_POOL.getByName(pool));
    expect(await stats(pool)).toMatchObject({
      keys: { total: 3, free: 3, blocked: 0 },
      counters: { created: 3, assigned: 1, released: 1, expired: 0 },
    });
    clock.advance(KEY_TTL_MS);
    await runDurableObjectAlarm(env.KEY_POOL.getByName(pool));
    expect(await stats(pool)).toMatchObject({
      keys: { total: 0, free: 0, blocked: 0, cooling: 0, disabled: 0 },
      counters: { created: 3, assigned: 1, released: 1, expired: 3, deleted: 0 },
    });
  });

  it("treats deadlines that passed before the alarm ran as fired", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 2 } });
    await call("GET", `/pools/${pool}/keys`);
    clock.advance(BLOCK_TTL_MS);
    // No alarm has run: the block is due, so the key counts as free and released.
    expect(await stats(pool)).toMatchObject({
      keys: { total: 2, free: 2, blocked: 0 },
      counters: { released: 1, expired: 0 },
    });
    clock.advance(KEY_TTL_MS);
    expect(await stats(pool)).toMatchObject({ keys: { total: 0, free: 0, blocked: 0 }, counters: { expired: 2 } });
  });

  it("counts a block that ran out as released once, when a request applies it before the alarm", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 2 } });
    const first = (await call("GET", `/pools/${pool}/keys`)).body.keyId;
    const second = (await call("GET", `/pools/${pool}/keys`)).body.keyId;
    clock.advance(BLOCK_TTL_MS);
    await call("PUT", `/pools/${pool}/keys/${first}/alive`);
    await call("PUT", `/pools/${pool}/keys/${second}`, { json: { blocked: true } });
    await runDurableObjectAlarm(env.KEY_POOL.getByName(pool));
    expect(await stats(pool)).toMatchObject({
      keys: { total: 2, free: 1, blocked: 1 },
      counters: { assigned: 2, released: 2 },
    });
  });

  it("counts a key found expired by a request as expired, not deleted", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    const created = await call("POST", `/pools/${pool}/keys`);
    clock.advance(KEY_TTL_MS);
    expect((await call("DELETE", `/pools/${pool}/keys/${created.body.keyId}`)).status).toBe(404);
    expect(await stats(pool)).toMatchObject({ keys: { total: 0 }, counters: { expired: 1, deleted: 0 } });
  });

  it("serves the /keys pool as `default`", async () => {
    await call("POST", "/keys");
    const before = (await stats("default")).counters.created;
    await call("POST", "/keys");
    expect((await stats("default")).counters.created).toBe(before + 1);
  });

  it("rejects a bad pool name with 400", async () => {
    const response = await call("GET", "/pools/no%20spaces");
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/pool/i);
  });
});
