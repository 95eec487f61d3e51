import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ALARM_BATCH } from "../../src/key-pool";
import { useFakeClock } from "../support/clock";
import { addKeys, armedAlarm, freshPool, poolWithoutTrail, storedKeyCount } from "../support/pool";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

describe("the alarm", () => {
  it("is armed at the first key's expiry and not moved by later, later-expiring keys", async () => {
    const clock = useFakeClock();
    const t0 = clock.nowMs;
    const pool = freshPool();
    await addKeys(pool, 1);
    expect(await armedAlarm(pool)).toBe(t0 + KEY_TTL_MS);
    clock.advance(5_000);
    await addKeys(pool, 3);
    expect(await armedAlarm(pool)).toBe(t0 + KEY_TTL_MS);
  });

  it("moves earlier when a block releases before any expiry", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    await addKeys(pool, 1);
    const blockedAt = clock.advance(1_000);
    const assigned = await pool.assign();
    expect(assigned.ok).toBe(true);
    expect(await armedAlarm(pool)).toBe(blockedAt + BLOCK_TTL_MS);
  });

  it("deletes expired keys for good and re-arms for the next deadline", async () => {
    const clock = useFakeClock();
    const t0 = clock.nowMs;
    const pool = freshPool();
    const [early] = await addKeys(pool, 1);
    clock.advance(10_000);
    const [late] = await addKeys(pool, 1);
    clock.set(t0 + KEY_TTL_MS);
    expect(await runDurableObjectAlarm(pool)).toBe(true);
    expect(await storedKeyCount(pool)).toBe(1);
    expect((await pool.info(early as string)).ok).toBe(false);
    expect((await pool.info(late as string)).ok).toBe(true);
    expect(await armedAlarm(pool)).toBe(t0 + 10_000 + KEY_TTL_MS);
  });

  it("releases due blocks so the key can be assigned again under a new lease", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    const [id] = await addKeys(pool, 1);
    const first = await pool.assign();
    if (!first.ok) throw new Error("expected a key");
    clock.advance(BLOCK_TTL_MS);
    await runDurableObjectAlarm(pool);
    const info = await pool.info(id as string);
    expect(info).toMatchObject({ ok: true, value: { isBlocked: false, blockedAt: null, releaseAt: null } });
    const second = await pool.assign();
    expect(second).toMatchObject({ ok: true, value: { keyId: id } });
    if (second.ok) expect(second.value.lease).toBeGreaterThan(first.value.lease);
  });

  it("is removed when the pool is empty (and keeps no trail)", async () => {
    const clock = useFakeClock();
    const pool = await poolWithoutTrail();
    await addKeys(pool, 2);
    clock.advance(KEY_TTL_MS);
    await runDurableObjectAlarm(pool);
    expect(await storedKeyCount(pool)).toBe(0);
    expect(await armedAlarm(pool)).toBeNull();
  });

  it("changes nothing when it runs again, late or early", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    const ids = await addKeys(pool, 3);
    await pool.assign();
    clock.advance(BLOCK_TTL_MS + 5);
    await runDurableObjectAlarm(pool);
    const after = await Promise.all(ids.map((id) => pool.info(id)));
    // A duplicate delivery: the alarm, re-armed for the first expiry, fires again before it is due.
    expect(await runDurableObjectAlarm(pool)).toBe(true);
    expect(await Promise.all(ids.map((id) => pool.info(id)))).toEqual(after);
  });

  it("changes at most one batch of keys per run when expiries and releases are due together", async () => {
    const clock = useFakeClock();
    const t0 = clock.nowMs;
    const pool = freshPool();
    // Fewer expiries than one batch, so the rest of the batch goes to releases.
    const expiring = (ALARM_BATCH * 4) / 5;
    const later = 1000 - expiring;
    await addKeys(pool, expiring);
    clock.advance(1_000);
    await addKeys(pool, later);
    for (let i = 0; i < 400; i++) expect((await pool.assign()).ok).toBe(true);
    clock.set(t0 + KEY_TTL_MS); // the first keys expire; every block is due as well
    const blockedLater = () =>
      runInDurableObject(
        pool,
        (_instance, state) =>
          state.storage.sql
            .exec<{ n: number }>(
              "SELECT count(*) AS n FROM keys WHERE release_at IS NOT NULL AND expires_at > ?",
              t0 + KEY_TTL_MS,
            )
            .one().n,
      );
    const dueReleases = await blockedLater();
    expect(expiring + dueReleases).toBeGreaterThan(ALARM_BATCH);
    await runDurableObjectAlarm(pool);
    // Expiries first, then releases up to the batch.
    expect(await storedKeyCount(pool)).toBe(later);
    const releasesLeft = dueReleases - (ALARM_BATCH - expiring);
    expect(await blockedLater()).toBe(releasesLeft);
    for (let run = 0; run < Math.ceil(releasesLeft / ALARM_BATCH); run++) await runDurableObjectAlarm(pool);
    expect(await blockedLater()).toBe(0);
  }, 30_000);

  it("drains a mass expiry in bounded batches, answering requests between runs", async () => {
    const clock = useFakeClock();
    const pool = await poolWithoutTrail();
    const total = ALARM_BATCH * 2 + 17;
    await addKeys(pool, total);
    clock.advance(KEY_TTL_MS);
    const remaining: number[] = [];
    for (let run = 0; run < 3; run++) {
      await runDurableObjectAlarm(pool);
      remaining.push(await storedKeyCount(pool));
      // The pool keeps answering between batches, and never hands out an expired key.
      expect(await pool.assign()).toMatchObject({ ok: false, refusal: "none_free" });
    }
    expect(remaining[0]).toBeGreaterThanOrEqual(total - ALARM_BATCH - 64);
    expect(remaining.at(-1)).toBe(0);
    expect(await armedAlarm(pool)).toBeNull();
  }, 60_000);
});
