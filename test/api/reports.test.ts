import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { CLIENT_TOKEN, call, uniquePool } from "../support/http";
import { iso } from "../support/timings";

const HOLDER = "KeyPool-Lease-Token";

/** A pool with one key, assigned to a client: the key, its holder's secret and the pool's name. */
async function heldKey(settings: Record<string, unknown> = {}) {
  const pool = uniquePool();
  await call("PUT", `/pools/${pool}/settings`, { json: settings });
  await call("POST", `/pools/${pool}/keys`);
  const held = await call("GET", `/pools/${pool}/keys`, { token: CLIENT_TOKEN });
  expect(held.status).toBe(200);
  return { pool, keyId: held.body.keyId as string, leaseToken: held.body.leaseToken as string };
}

function report(pool: string, keyId: string, json: unknown, leaseToken?: string) {
  return leaseToken === undefined
    ? call("POST", `/pools/${pool}/keys/${keyId}/report`, { json })
    : call("POST", `/pools/${pool}/keys/${keyId}/report`, {
        json,
        token: CLIENT_TOKEN,
        headers: { [HOLDER]: leaseToken },
      });
}

const info = async (pool: string, keyId: string) => (await call("GET", `/pools/${pool}/keys/${keyId}/info`)).body;
const assign = (pool: string) => call("GET", `/pools/${pool}/keys`, { token: CLIENT_TOKEN });

describe("POST /keys/{id}/report: rate_limited", () => {
  it("keeps the key out for exactly retryAfterSeconds, then hands it out again", async () => {
    const clock = useFakeClock();
    const { pool, keyId, leaseToken } = await heldKey();
    const t = clock.nowMs;
    const reported = await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 2 }, leaseToken);
    expect(reported).toMatchObject({
      status: 200,
      body: {
        state: "cooling",
        isBlocked: false,
        blockedAt: null,
        coolingUntil: iso(t + 2000),
        lastOutcome: "rate_limited",
        lastReportAt: iso(t),
        failures: 0,
      },
    });

    const refused = await assign(pool);
    expect(refused).toMatchObject({ status: 404, body: { retryAfterSeconds: 2 } });
    expect(refused.headers.get("retry-after")).toBe("2");
    clock.set(t + 1999);
    const almost = await assign(pool);
    expect(almost).toMatchObject({ status: 404, body: { retryAfterSeconds: 1 } });
    expect(almost.headers.get("retry-after")).toBe("1");
    expect((await info(pool, keyId)).state).toBe("cooling");

    clock.set(t + 2000);
    expect((await info(pool, keyId)).state).toBe("free");
    expect(await assign(pool)).toMatchObject({ status: 200, body: { keyId } });
  });

  it("arms the alarm for the cooldown's end", async () => {
    const clock = useFakeClock();
    const { pool, keyId, leaseToken } = await heldKey({ keyTtlSeconds: 3600 });
    await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 2.5 }, leaseToken);
    const alarm = await runInDurableObject(env.KEY_POOL.getByName(pool), (_instance, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).toBe(clock.nowMs + 2500);
  });

  it("a second, shorter report leaves the cooldown as it was; a longer one extends it", async () => {
    const clock = useFakeClock();
    const { pool, keyId } = await heldKey();
    const t = clock.nowMs;
    expect((await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 10 })).body.coolingUntil).toBe(
      iso(t + 10_000),
    );
    clock.advance(1000);
    expect((await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 2 })).body.coolingUntil).toBe(
      iso(t + 10_000),
    );
    expect((await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 0 })).body.coolingUntil).toBe(
      iso(t + 10_000),
    );
    expect((await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 30 })).body.coolingUntil).toBe(
      iso(t + 31_000),
    );
    // Cooldowns started or extended: the first and the last report, not the two that changed nothing.
    const stats = (await call("GET", `/pools/${pool}`)).body;
    expect(stats.counters).toMatchObject({ cooled: 2, reportedRateLimited: 4 });
    expect(stats.keys).toMatchObject({ total: 1, free: 0, cooling: 1 });
  });

  it("cools for the pool's cooldownSeconds when the upstream gave no wait, and a wait of 0 cools nothing", async () => {
    const clock = useFakeClock();
    const { pool, keyId, leaseToken } = await heldKey({ cooldownSeconds: 7.5 });
    const t = clock.nowMs;
    expect((await report(pool, keyId, { outcome: "rate_limited" }, leaseToken)).body).toMatchObject({
      state: "cooling",
      coolingUntil: iso(t + 7500),
    });
    clock.set(t + 7500);
    const again = await assign(pool);
    const zero = await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 0 }, again.body.leaseToken);
    expect(zero.body).toMatchObject({ state: "free", isBlocked: false, coolingUntil: null });
    expect((await assign(pool)).status).toBe(200);
  });
});

describe("POST /keys/{id}/report: unauthorized, error, ok", () => {
  it("unauthorized disables the key until an admin enables it; it still answers info, keep-alive and delete", async () => {
    const clock = useFakeClock();
    const { pool, keyId, leaseToken } = await heldKey();
    const t = clock.nowMs;
    expect((await report(pool, keyId, { outcome: "unauthorized" }, leaseToken)).body).toMatchObject({
      state: "disabled",
      isBlocked: false,
      coolingUntil: null,
      lastOutcome: "unauthorized",
    });
    // Nothing is on its way to being free: no Retry-After.
    const refused = await assign(pool);
    expect(refused.status).toBe(404);
    expect(refused.headers.get("retry-after")).toBeNull();
    expect(refused.body.retryAfterSeconds).toBeUndefined();

    // Long after any block or cooldown would have ended (within the key's TTL), it is still out.
    clock.advance(240_000);
    expect((await assign(pool)).status).toBe(404);
    expect(await call("PUT", `/pools/${pool}/keys/${keyId}/alive`, { token: CLIENT_TOKEN })).toMatchObject({
      status: 200,
      body: { state: "disabled", lastActivity: iso(t + 240_000) },
    });
    // An admin's block of a disabled key is refused: it would hand out a revoked key.
    expect(await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { blocked: true } })).toMatchObject({
      status: 409,
      body: { error: expect.stringContaining("disabled") },
    });
    // A client may not enable it.
    const byClient = await call("PUT", `/pools/${pool}/keys/${keyId}`, {
      json: { disabled: false },
      token: CLIENT_TOKEN,
    });
    expect(byClient.status).toBe(403);
    expect((await info(pool, keyId)).state).toBe("disabled");

    expect(await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { disabled: false } })).toMatchObject({
      status: 200,
      body: { state: "free", failures: 0, lastOutcome: "unauthorized" },
    });
    expect(await assign(pool)).toMatchObject({ status: 200, body: { keyId } });
    expect((await call("DELETE", `/pools/${pool}/keys/${keyId}`)).status).toBe(200);
  });

  it("an admin's disable ends the holder's block; the holder's secret then proves nothing", async () => {
    const { pool, keyId, leaseToken } = await heldKey();
    expect(await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { disabled: true } })).toMatchObject({
      status: 200,
      body: { state: "disabled", isBlocked: false, releaseAt: null },
    });
    const unblock = await call("PUT", `/pools/${pool}/keys/${keyId}`, {
      json: { blocked: false },
      token: CLIENT_TOKEN,
      headers: { [HOLDER]: leaseToken },
    });
    expect(unblock.status).toBe(409);
    expect((await report(pool, keyId, { outcome: "ok" }, leaseToken)).status).toBe(409);
    const stats = (await call("GET", `/pools/${pool}`)).body;
    expect(stats.keys).toMatchObject({ total: 1, free: 0, blocked: 0, disabled: 1 });
    expect(stats.counters.disabled).toBe(1);
  });

  it("errors count to maxFailures, then the key cools down and the count starts again; ok forgets them", async () => {
    const clock = useFakeClock();
    const { pool, keyId, leaseToken } = await heldKey({ maxFailures: 3, cooldownSeconds: 5 });
    const t = clock.nowMs;
    expect((await report(pool, keyId, { outcome: "error" }, leaseToken)).body).toMatchObject({
      state: "blocked",
      isBlocked: true,
      failures: 1,
    });
    expect((await report(pool, keyId, { outcome: "ok" }, leaseToken)).body).toMatchObject({
      state: "blocked",
      failures: 0,
      lastOutcome: "ok",
    });
    await report(pool, keyId, { outcome: "error" }, leaseToken);
    expect((await report(pool, keyId, { outcome: "error" }, leaseToken)).body.failures).toBe(2);
    expect((await report(pool, keyId, { outcome: "error" }, leaseToken)).body).toMatchObject({
      state: "cooling",
      isBlocked: false,
      coolingUntil: iso(t + 5000),
      failures: 0,
      lastOutcome: "error",
    });
    // The block ended with the cooldown: the holder's secret is spent.
    expect((await report(pool, keyId, { outcome: "error" }, leaseToken)).status).toBe(409);
    expect((await call("GET", `/pools/${pool}`)).body.counters).toMatchObject({
      reportedError: 4,
      reportedOk: 1,
      cooled: 1,
    });
  });

  it("an error with a wait cools for that wait at maxFailures", async () => {
    const clock = useFakeClock();
    const { pool, keyId, leaseToken } = await heldKey({ maxFailures: 1 });
    const answer = await report(pool, keyId, { outcome: "error", retryAfterSeconds: 0.25 }, leaseToken);
    expect(answer.body).toMatchObject({ state: "cooling", coolingUntil: iso(clock.nowMs + 250) });
  });

  it("ok with release frees the key at once, for the next caller", async () => {
    const { pool, keyId, leaseToken } = await heldKey({ lockDelaySeconds: 30 });
    expect((await report(pool, keyId, { outcome: "ok", release: true }, leaseToken)).body).toMatchObject({
      state: "free",
      isBlocked: false,
      coolingUntil: null,
    });
    expect(await assign(pool)).toMatchObject({ status: 200, body: { keyId } });
  });
});

describe("POST /keys/{id}/report: who may report, and what is refused", () => {
  it("a client must prove it holds the key; an admin may report on any key", async () => {
    const { pool, keyId, leaseToken } = await heldKey();
    const wrongSecret = leaseToken.slice(0, -4) + (leaseToken.endsWith("AAAA") ? "BBBB" : "AAAA");
    for (const headers of [{}, { [HOLDER]: wrongSecret }] as Array<Record<string, string>>) {
      const answer = await call("POST", `/pools/${pool}/keys/${keyId}/report`, {
        json: { outcome: "unauthorized" },
        token: CLIENT_TOKEN,
        headers,
      });
      expect(answer.status, JSON.stringify(headers)).toBe(409);
    }
    expect((await info(pool, keyId)).state).toBe("blocked");

    // Once the key is free again, the old secret proves nothing either.
    await report(pool, keyId, { outcome: "ok", release: true }, leaseToken);
    expect((await report(pool, keyId, { outcome: "rate_limited" }, leaseToken)).status).toBe(409);
    expect((await info(pool, keyId)).state).toBe("free");

    expect((await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 1 })).body.state).toBe("cooling");
    expect((await report(pool, crypto.randomUUID(), { outcome: "ok" })).status).toBe(404);
  });

  it("answers bad bodies with 400 naming the field, and changes nothing", async () => {
    const { pool, keyId, leaseToken } = await heldKey();
    const before = await info(pool, keyId);
    const bad: Array<[unknown, string]> = [
      [{}, "body.outcome"],
      [{ outcome: "banned" }, "body.outcome"],
      [{ outcome: "rate_limited", retryAfterSeconds: -1 }, "body.retryAfterSeconds"],
      [{ outcome: "rate_limited", retryAfterSeconds: 86_401 }, "body.retryAfterSeconds"],
      [{ outcome: "rate_limited", retryAfterSeconds: "2" }, "body.retryAfterSeconds"],
      [{ outcome: "rate_limited", retryAfterSeconds: null }, "body.retryAfterSeconds"],
      [{ outcome: "ok", release: "yes" }, "body.release"],
      [{ outcome: "ok", lease: 1 }, "body.lease"],
    ];
    for (const [json, path] of bad) {
      const answer = await report(pool, keyId, json, leaseToken);
      expect(answer.status, JSON.stringify(json)).toBe(400);
      expect(answer.body.details.map((detail: { path: string }) => detail.path)).toContain(path);
    }
    const notJson = await call("POST", `/pools/${pool}/keys/${keyId}/report`, {
      body: "{outcome",
      headers: { "content-type": "application/json", [HOLDER]: leaseToken },
      token: CLIENT_TOKEN,
    });
    expect(notJson.status).toBe(400);
    expect(await info(pool, keyId)).toEqual(before);
    const counters = (await call("GET", `/pools/${pool}`)).body.counters;
    expect([counters.reportedOk, counters.reportedRateLimited, counters.reportedError]).toEqual([0, 0, 0]);
  });

  it("accepts the largest wait, a day", async () => {
    const clock = useFakeClock();
    const { pool, keyId, leaseToken } = await heldKey();
    const answer = await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 86_400 }, leaseToken);
    expect(answer.body.coolingUntil).toBe(iso(clock.nowMs + 86_400_000));
  });

  it("PUT {disabled} goes alone and only from an admin", async () => {
    const { pool, keyId } = await heldKey();
    for (const json of [{ disabled: true, blocked: false }, { disabled: true, label: "x" }, { disabled: "yes" }]) {
      expect((await call("PUT", `/pools/${pool}/keys/${keyId}`, { json })).status, JSON.stringify(json)).toBe(400);
    }
    expect((await info(pool, keyId)).state).toBe("blocked");
  });
});

describe("lockDelaySeconds", () => {
  it("a block that runs out is not handed out before releaseAt + the delay", async () => {
    const clock = useFakeClock();
    const { pool, keyId } = await heldKey({ lockDelaySeconds: 3, blockTtlSeconds: 10 });
    const releaseAt = Date.parse((await info(pool, keyId)).releaseAt);

    // Before the block runs out the pool already knows when the key will be free: releaseAt + 3 s.
    clock.set(releaseAt - 1000);
    expect((await assign(pool)).headers.get("retry-after")).toBe("4");

    clock.set(releaseAt);
    const refused = await assign(pool);
    expect(refused).toMatchObject({ status: 404, body: { retryAfterSeconds: 3 } });
    expect(await info(pool, keyId)).toMatchObject({
      state: "cooling",
      isBlocked: false,
      coolingUntil: iso(releaseAt + 3000),
    });
    clock.set(releaseAt + 2999);
    expect((await assign(pool)).status).toBe(404);
    clock.set(releaseAt + 3000);
    expect(await assign(pool)).toMatchObject({ status: 200, body: { keyId } });
  });

  it("a holder's own release frees the key at once", async () => {
    const { pool, keyId, leaseToken } = await heldKey({ lockDelaySeconds: 60 });
    const unblocked = await call("PUT", `/pools/${pool}/keys/${keyId}`, {
      json: { blocked: false },
      token: CLIENT_TOKEN,
      headers: { [HOLDER]: leaseToken },
    });
    expect(unblocked.body).toMatchObject({ state: "free", coolingUntil: null });
    expect(await assign(pool)).toMatchObject({ status: 200, body: { keyId } });
  });
});

describe("states in listings and counts", () => {
  it("lists cooling keys by the end of their cooldown and disabled keys by when they were disabled", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    const ids: string[] = (await call("POST", `/pools/${pool}/keys`, { json: { count: 5 } })).body.keyIds;
    const [late, early, off, free, held] = ids as [string, string, string, string, string];
    await report(pool, late, { outcome: "rate_limited", retryAfterSeconds: 20 });
    await report(pool, early, { outcome: "rate_limited", retryAfterSeconds: 10 });
    await call("PUT", `/pools/${pool}/keys/${off}`, { json: { disabled: true } });
    await call("PUT", `/pools/${pool}/keys/${held}`, { json: { blocked: true } });

    const list = async (state: string) =>
      (await call("GET", `/pools/${pool}/list?state=${state}`)).body.keys.map((key: { keyId: string }) => key.keyId);
    expect(await list("cooling")).toEqual([early, late]);
    expect(await list("disabled")).toEqual([off]);
    expect(await list("blocked")).toEqual([held]);
    expect(await list("free")).toEqual([free]);
    expect((await list("all")).sort()).toEqual([...ids].sort());
    const listed = (await call("GET", `/pools/${pool}/list?state=cooling`)).body.keys[0];
    expect(listed).toMatchObject({ keyId: early, state: "cooling", coolingUntil: iso(clock.nowMs + 10_000) });

    expect((await call("GET", `/pools/${pool}`)).body.keys).toEqual({
      total: 5,
      free: 1,
      blocked: 1,
      cooling: 2,
      disabled: 1,
    });
    clock.advance(10_000);
    expect(await list("cooling")).toEqual([late]);
    expect((await call("GET", `/pools/${pool}`)).body.keys).toMatchObject({ free: 2, cooling: 1 });
  });

  it("pages through cooling keys with a cursor", async () => {
    const pool = uniquePool();
    const ids: string[] = (await call("POST", `/pools/${pool}/keys`, { json: { count: 5 } })).body.keyIds;
    for (const [index, keyId] of ids.entries()) {
      await report(pool, keyId, { outcome: "rate_limited", retryAfterSeconds: 100 + index });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const page = (await call("GET", `/pools/${pool}/list?state=cooling&limit=2${query}`)).body;
      seen.push(...page.keys.map((key: { keyId: string }) => key.keyId));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);
    // A cursor is for the state it was made for.
    const page = (await call("GET", `/pools/${pool}/list?state=cooling&limit=2`)).body;
    const other = await call("GET", `/pools/${pool}/list?state=disabled&cursor=${encodeURIComponent(page.cursor)}`);
    expect(other.status).toBe(400);
  });
});
