import { createExecutionContext, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildRouter } from "../../src/http/router";
import { useFakeClock } from "../support/clock";
import { ADMIN_TOKEN, call, uniquePool } from "../support/http";
import { BLOCK_TTL_MS, iso, MAX_HOLD_SECONDS } from "../support/timings";

describe("GET /keys?holdSeconds=N", () => {
  it("blocks for N seconds instead of BLOCK_TTL_SECONDS, and the alarm releases it then", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    const stub = env.KEY_POOL.getByName(pool);
    const { body: created } = await call("POST", `/pools/${pool}/keys`);
    const t0 = clock.nowMs;
    const held = await call("GET", `/pools/${pool}/keys?holdSeconds=200`);
    expect(held).toMatchObject({ status: 200, body: { keyId: created.keyId, releaseAt: iso(t0 + 200_000) } });

    // Past the pool's 60 s block time the key is still held.
    clock.advance(120_000);
    await runDurableObjectAlarm(stub);
    expect((await call("GET", `/pools/${pool}/keys/${created.keyId}/info`)).body).toMatchObject({
      isBlocked: true,
      releaseAt: iso(t0 + 200_000),
    });
    expect((await call("GET", `/pools/${pool}/keys`)).status).toBe(404);

    clock.set(t0 + 200_000);
    await runDurableObjectAlarm(stub);
    expect((await call("GET", `/pools/${pool}/keys/${created.keyId}/info`)).body.isBlocked).toBe(false);
  });

  it("the holder's renewal restarts the block with the assignment's own hold and keeps the lease", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`);
    const held = (await call("GET", `/pools/${pool}/keys?holdSeconds=100`)).body;
    for (let round = 1; round <= 3; round++) {
      const now = clock.advance(90_000);
      await call("PUT", `/pools/${pool}/keys/${held.keyId}/alive?lease=${held.lease}`);
      const renewed = await call("PUT", `/pools/${pool}/keys/${held.keyId}`, {
        json: { blocked: true, lease: held.lease },
      });
      expect(renewed).toMatchObject({
        status: 200,
        body: { isBlocked: true, blockedAt: iso(now), releaseAt: iso(now + 100_000), lease: held.lease },
      });
    }
  });

  it("without holdSeconds, a renewal keeps the pool's block time", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`);
    const held = (await call("GET", `/pools/${pool}/keys`)).body;
    const now = clock.advance(30_000);
    const renewed = await call("PUT", `/pools/${pool}/keys/${held.keyId}`, {
      json: { blocked: true, lease: held.lease },
    });
    expect(renewed.body).toMatchObject({ blockedAt: iso(now), releaseAt: iso(now + BLOCK_TTL_MS), lease: held.lease });
  });

  it("accepts 1 and MAX_HOLD_SECONDS", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 2 } });
    const shortest = await call("GET", `/pools/${pool}/keys?holdSeconds=1`);
    const longest = await call("GET", `/pools/${pool}/keys?holdSeconds=${MAX_HOLD_SECONDS}`);
    expect(shortest.body.releaseAt).toBe(iso(clock.nowMs + 1_000));
    expect(longest.body.releaseAt).toBe(iso(clock.nowMs + MAX_HOLD_SECONDS * 1000));
  });

  it.each(["0", "-5", "1.5", "3601", "abc", ""])("answers 400 for holdSeconds=%j and blocks nothing", async (bad) => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`);
    const answer = await call("GET", `/pools/${pool}/keys?holdSeconds=${bad}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toContain("holdSeconds");
    expect((await call("GET", `/pools/${pool}/keys`)).status).toBe(200);
  });

  it("names MAX_HOLD_SECONDS and its value when N is too long", async () => {
    const answer = await call("GET", `/pools/${uniquePool()}/keys?holdSeconds=${MAX_HOLD_SECONDS + 1}`);
    expect(answer.body).toEqual({
      error: `Invalid request: query.holdSeconds: must be at most MAX_HOLD_SECONDS (${MAX_HOLD_SECONDS})`,
      details: [{ path: "query.holdSeconds", message: `must be at most MAX_HOLD_SECONDS (${MAX_HOLD_SECONDS})` }],
    });
  });

  it("reads the limit from MAX_HOLD_SECONDS", async () => {
    const router = buildRouter();
    const small = { ...env, MAX_HOLD_SECONDS: "10" } as Env;
    const get = (n: number) =>
      router.fetch(
        new Request(`http://keypool.test/pools/${uniquePool()}/keys?holdSeconds=${n}`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        }),
        small,
        createExecutionContext(),
      );
    const tooLong = await get(11);
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ error: expect.stringContaining("MAX_HOLD_SECONDS (10)") });
    expect((await get(10)).status).toBe(404); // valid; the new pool is just empty
  });

  it("answers 500 naming MAX_HOLD_SECONDS when it is misconfigured", async () => {
    const bad = { ...env, MAX_HOLD_SECONDS: "forever" } as Env;
    const response = await buildRouter().fetch(new Request("http://keypool.test/keys"), bad, createExecutionContext());
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: expect.stringMatching(/^Server misconfigured: MAX_HOLD_SECONDS/) });
  });

  it("refuses unknown query parameters", async () => {
    const answer = await call("GET", `/pools/${uniquePool()}/keys?hold=5`);
    expect(answer.status).toBe(400);
  });
});
