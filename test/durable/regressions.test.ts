import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { measureCall } from "../support/cost";
import { checkStorage, snapshot } from "../support/durable-pool";
import { ADMIN, addKeys, freshPool, warmUpObject } from "../support/pool";
import { KEY_TTL_MS } from "../support/timings";

/**
 * Bugs the model, fault and mass-expiry tests found, each kept as the smallest sequence that showed
 * it. Each names what was wrong; the fix is in the commit that added the test.
 */
describe("regressions", () => {
  it("a batch of deletes leaves the free keys consistent (deletes used stale slot numbers in storage v1)", async () => {
    // The model test's shrunk counterexample for the bug fixed before these tests existed:
    // create(5), time to just before their expiry, create(1), time past it, assign. Settling the five
    // expiries in one batch moved keys between slots, and later deletes freed slots read before the
    // moves, so the assignment found an empty slot below free_count ("free slot array is corrupt").
    const clock = useFakeClock();
    const pool = freshPool();
    await addKeys(pool, 5);
    clock.advance(KEY_TTL_MS - 1);
    const [live] = await addKeys(pool, 1);
    clock.advance(2);
    expect(await pool.assign()).toMatchObject({ ok: true, value: { keyId: live } });
    checkStorage(await snapshot(pool));
  });

  it("an assignment during a mass expiry does bounded work instead of deleting every expired key itself", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    for (let made = 0; made < 5000; made += 1000) await addKeys(pool, 1000);
    clock.advance(1);
    const [survivor] = await addKeys(pool, 1);
    clock.advance(KEY_TTL_MS - 1); // 5,000 expired free keys the alarm has not removed yet, and one live one
    await warmUpObject(pool); // its one scan of the keys on a start is not this assignment's work

    const { result: outcome, cost } = await measureCall(pool, (instance) => instance.assign());
    const { read, written } = cost;
    // It found the one live key among thousands of expired ones...
    expect(outcome).toMatchObject({ ok: true, value: { keyId: survivor } });
    // ...without deleting them all in this request (it used to: ~15,000 rows written, seconds of work).
    expect(written).toBeLessThan(1000);
    // Reads: the settle batch is set-based (one DELETE of 64 keys), which seeks more index rows than
    // it writes but is still a fixed bound.
    expect(read).toBeLessThan(1500);
    expect(await pool.assign()).toMatchObject({ ok: false, refusal: "none_free" });
    checkStorage(await snapshot(pool));
  });

  it("a cooling key an admin disables counts as disabled only, after a restart too (it counted as both)", async () => {
    // Found by the dashboard's browser test: cool a key, disable it, and the counts read on the next
    // start said blocked -1 (the scan counted its cooldown as well). A disabled key now has no cooldown.
    useFakeClock();
    const pool = freshPool();
    const [cooled] = await addKeys(pool, 2);
    await pool.report(cooled as string, ADMIN, { outcome: "rate_limited", retryAfterMs: 30_000 });
    await pool.setDisabled(cooled as string, true);
    const keys = { total: 2, free: 1, blocked: 0, cooling: 0, disabled: 1 };
    expect(await pool.poolStats()).toMatchObject({ ok: true, value: { keys } });
    await evictDurableObject(pool);
    expect(await pool.poolStats()).toMatchObject({ ok: true, value: { keys } });
    expect(await pool.info(cooled as string)).toMatchObject({
      ok: true,
      value: { state: "disabled", coolingUntil: null },
    });
    // A report cools a disabled key no more; enabled again, it is free at once.
    await pool.report(cooled as string, ADMIN, { outcome: "rate_limited", retryAfterMs: 30_000 });
    expect(await pool.info(cooled as string)).toMatchObject({
      ok: true,
      value: { state: "disabled", coolingUntil: null },
    });
    expect(await pool.setDisabled(cooled as string, false)).toMatchObject({ ok: true, value: { state: "free" } });
    expect(await pool.poolStats()).toMatchObject({ ok: true, value: { keys: { free: 2, cooling: 0, disabled: 0 } } });
    checkStorage(await snapshot(pool));
  });
});
