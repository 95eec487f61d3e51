import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { CLIENT_TOKEN, call, uniquePool } from "../support/http";
import { iso } from "../support/timings";

const HOLDER = "KeyPool-Lease-Token";

type Answer = Awaited<ReturnType<typeof call>>;

/** Callers waiting in `pool` now, as `GET /pools/{pool}` counts them. */
async function waiting(pool: string): Promise<number> {
  return (await call("GET", `/pools/${pool}`)).body.waiting;
}

/** Polls until `count` callers wait: a waiter's call is under way only once the pool counts it. */
async function untilWaiting(pool: string, count: number): Promise<void> {
  for (let round = 0; round < 500; round++) {
    if ((await waiting(pool)) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`never saw ${count} callers waiting in ${pool}`);
}

/** A caller that waits up to `seconds` for a key; it is in the line once this resolves, with its answer to come. */
async function waiter(
  pool: string,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<{ answer: Promise<Answer> }> {
  const before = await waiting(pool);
  const answer = call("GET", `/pools/${pool}/keys?waitSeconds=${seconds}`, { token: CLIENT_TOKEN, headers });
  await untilWaiting(pool, before + 1);
  return { answer };
}

/** A pool of `count` keys, all assigned: their ids and holder secrets, in the order assigned. */
async function fullPool(count: number) {
  const pool = uniquePool();
  await call("POST", `/pools/${pool}/keys`, { json: { count } });
  const held: Array<{ keyId: string; leaseToken: string }> = [];
  for (let i = 0; i < count; i++) held.push((await call("GET", `/pools/${pool}/keys`, { token: CLIENT_TOKEN })).body);
  return { pool, held };
}

function unblock(pool: string, key: { keyId: string; leaseToken: string }) {
  return call("PUT", `/pools/${pool}/keys/${key.keyId}`, {
    json: { blocked: false },
    token: CLIENT_TOKEN,
    headers: { [HOLDER]: key.leaseToken },
  });
}

describe("GET /keys?waitSeconds=N", () => {
  it("serves five waiting callers in the order they came, as keys are released one by one", async () => {
    const { pool, held } = await fullPool(5);
    const callers: Array<Promise<Answer>> = [];
    for (let i = 0; i < 5; i++) callers.push((await waiter(pool, 30)).answer);

    for (const [i, key] of held.entries()) {
      expect((await unblock(pool, key)).status).toBe(200);
      const served = await (callers[i] as Promise<Answer>);
      expect(served, `caller ${i}`).toMatchObject({ status: 200, body: { keyId: key.keyId } });
      expect(served.body.leaseToken).not.toBe(key.leaseToken);
      expect(await waiting(pool)).toBe(4 - i);
    }
  });

  it("hands the freed key to the waiting caller in the release's own transaction: no newcomer overtakes", async () => {
    const { pool, held } = await fullPool(1);
    const first = held[0] as { keyId: string; leaseToken: string };
    const { answer: caller } = await waiter(pool, 30);
    expect((await unblock(pool, first)).status).toBe(200);
    // The unblock has answered, so the key is the waiter's already: a caller who does not wait finds none.
    expect((await call("GET", `/pools/${pool}/keys`, { token: CLIENT_TOKEN })).status).toBe(404);
    const served = await caller;
    expect(served).toMatchObject({ status: 200, body: { keyId: first.keyId } });
    // Its proof works: the waiter holds the key.
    expect((await unblock(pool, served.body)).body.state).toBe("free");
  });

  it("serves waiters from keys created, re-enabled, or freed by the alarm", async () => {
    const clock = useFakeClock();
    const { pool, held } = await fullPool(1);
    const first = held[0] as { keyId: string; leaseToken: string };

    const { answer: forCreated } = await waiter(pool, 30);
    const created = (await call("POST", `/pools/${pool}/keys`)).body.keyId;
    expect((await forCreated).body.keyId).toBe(created);

    // The first key cools down; the waiter gets it when the alarm ends the cooldown.
    await call("POST", `/pools/${pool}/keys/${first.keyId}/report`, {
      json: { outcome: "rate_limited", retryAfterSeconds: 5 },
      token: CLIENT_TOKEN,
      headers: { [HOLDER]: first.leaseToken },
    });
    const { answer: forCooled } = await waiter(pool, 30);
    clock.advance(5000);
    await runDurableObjectAlarm(env.KEY_POOL.getByName(pool));
    const cooled = await forCooled;
    expect(cooled).toMatchObject({ status: 200, body: { keyId: first.keyId, releaseAt: iso(clock.nowMs + 60_000) } });

    await call("PUT", `/pools/${pool}/keys/${first.keyId}`, { json: { disabled: true } });
    const { answer: forEnabled } = await waiter(pool, 30);
    await call("PUT", `/pools/${pool}/keys/${first.keyId}`, { json: { disabled: false } });
    expect((await forEnabled).body.keyId).toBe(first.keyId);
  });

  it("a served waiter holds its key for its own holdSeconds, from when it was served", async () => {
    const clock = useFakeClock();
    const { pool, held } = await fullPool(1);
    const first = held[0] as { keyId: string; leaseToken: string };
    const before = await waiting(pool);
    const caller = call("GET", `/pools/${pool}/keys?waitSeconds=30&holdSeconds=600`, { token: CLIENT_TOKEN });
    await untilWaiting(pool, before + 1);
    clock.advance(1234);
    await unblock(pool, first);
    expect((await caller).body.releaseAt).toBe(iso(clock.nowMs + 600_000));
  });

  it("answers 404 with Retry-After when the wait is over with no key, and leaves the line", async () => {
    const clock = useFakeClock();
    const { pool } = await fullPool(1);
    clock.advance(1500);
    const refused = await (await waiter(pool, 0.3)).answer;
    expect(refused).toMatchObject({ status: 404, body: { retryAfterSeconds: 59 } });
    expect(refused.headers.get("retry-after")).toBe("59");
    expect(await waiting(pool)).toBe(0);
  });

  it("a retry with the same Idempotency-Key waits for, and gets, the same key", async () => {
    const { pool, held } = await fullPool(2);
    const headers = { "Idempotency-Key": crypto.randomUUID() };
    const { answer: first } = await waiter(pool, 30, headers);
    // The retry joins the first call's wait: it does not take a place of its own.
    const retry = call("GET", `/pools/${pool}/keys?waitSeconds=30`, { token: CLIENT_TOKEN, headers });
    const { answer: other } = await waiter(pool, 30);
    expect(await waiting(pool)).toBe(2);

    await unblock(pool, held[1] as { keyId: string; leaseToken: string });
    const [a, b] = await Promise.all([first, retry]);
    expect(a).toMatchObject({ status: 200, body: { keyId: held[1]?.keyId } });
    expect(b.body).toEqual(a.body);
    // After it was served, a replay answers the same again; the other waiter still waits.
    const replay = await call("GET", `/pools/${pool}/keys?waitSeconds=30`, { token: CLIENT_TOKEN, headers });
    expect(replay.body).toEqual(a.body);
    expect(await waiting(pool)).toBe(1);
    await unblock(pool, held[0] as { keyId: string; leaseToken: string });
    expect((await other).body.keyId).toBe(held[0]?.keyId);
  });

  it("keeps at most MAX_WAITERS callers: the next one answers 429 with Retry-After", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`);
    await call("GET", `/pools/${pool}/keys`, { token: CLIENT_TOKEN });
    const maxWaiters = 1000;
    // As an admin, whom no rate limit slows down.
    const callers = Array.from({ length: maxWaiters }, () => call("GET", `/pools/${pool}/keys?waitSeconds=30`));
    await untilWaiting(pool, maxWaiters);
    const refused = await call("GET", `/pools/${pool}/keys?waitSeconds=30`);
    expect(refused).toMatchObject({ status: 429, body: { error: expect.stringContaining("wait") } });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // A caller that does not wait is not refused for it.
    expect((await call("GET", `/pools/${pool}/keys`)).status).toBe(404);

    // One bulk create serves them all, each with a key of its own.
    const created: string[] = (await call("POST", `/pools/${pool}/keys`, { json: { count: maxWaiters } })).body.keyIds;
    const served = await Promise.all(callers);
    expect(served.every((answer) => answer.status === 200)).toBe(true);
    expect(new Set(served.map((answer) => answer.body.keyId))).toEqual(new Set(created));
    expect(await waiting(pool)).toBe(0);
  });

  it("refuses waits longer than MAX_WAIT_SECONDS, or not a number, with 400", async () => {
    const { pool } = await fullPool(1);
    for (const wait of ["31", "-1", "soon", "", "1e400"]) {
      const answer = await call("GET", `/pools/${pool}/keys?waitSeconds=${wait}`, { token: CLIENT_TOKEN });
      expect(answer.status, wait).toBe(400);
      expect(answer.body.details[0].path).toBe("query.waitSeconds");
    }
    expect((await call("GET", `/pools/${pool}`)).body.counters.assigned).toBe(1);
  });

  it("a restart of the object while a caller waits loses no key and blocks none for nobody", async () => {
    // Here the evicted instance still answers its waiter when the wait is over; a killed process
    // ends the call instead (test/e2e/restart.test.ts shows that over real HTTP).
    const { pool, held } = await fullPool(2);
    const { answer: caller } = await waiter(pool, 0.5);
    await evictDurableObject(env.KEY_POOL.getByName(pool));
    expect([404, 503]).toContain((await caller).status);

    // Both keys are still held by their holders, and their secrets still work.
    const stats = (await call("GET", `/pools/${pool}`)).body;
    expect(stats).toMatchObject({ keys: { total: 2, blocked: 2 }, waiting: 0 });
    expect(stats.counters.assigned).toBe(2);
    // A caller waiting on the restarted object gets the key released.
    const { answer: retry } = await waiter(pool, 30);
    await unblock(pool, held[0] as { keyId: string; leaseToken: string });
    expect((await retry).body.keyId).toBe(held[0]?.keyId);
    expect((await unblock(pool, held[1] as { keyId: string; leaseToken: string })).status).toBe(200);
  });
});
