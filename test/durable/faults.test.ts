import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { checkStorage, snapshot } from "../support/durable-pool";
import { alarmWithFailingStorage, retryAlarm } from "../support/faults";
import { ADMIN, addKeys, adminWithLease, freshPool } from "../support/pool";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

/** A pool with `expired` keys past their expiry and `due` live keys whose block is due. */
async function poolWithDueWork(expired: number, due: number) {
  const clock = useFakeClock();
  const pool = freshPool();
  const old = expired > 0 ? await addKeys(pool, expired) : [];
  clock.advance(KEY_TTL_MS - BLOCK_TTL_MS);
  const blocked = due > 0 ? await addKeys(pool, due) : [];
  for (const id of blocked) expect(await pool.setBlocked(id, true, ADMIN)).toMatchObject({ ok: true });
  clock.advance(BLOCK_TTL_MS);
  return { clock, pool, old, blocked };
}

describe("an alarm that fails", () => {
  it("midway through its batch commits nothing, and the retry does the whole batch exactly once", async () => {
    const { pool, old, blocked } = await poolWithDueWork(10, 3);
    const before = await snapshot(pool);

    // Storage fails at the releases: the batch's ten expired keys were already deleted inside the
    // transaction.
    expect(await alarmWithFailingStorage(pool, 2)).toBe(true);
    const afterFailure = await snapshot(pool);
    expect(afterFailure.rows).toEqual(before.rows);
    expect([...afterFailure.free].sort()).toEqual([...before.free].sort());
    expect(afterFailure.stats).toEqual(before.stats);

    await retryAlarm(pool);
    const after = await snapshot(pool);
    checkStorage(after);
    expect(after.rows.map((r) => r.id).sort()).toEqual([...blocked].sort());
    expect(after.rows.every((r) => r.blocked_at === null)).toBe(true);
    expect(after.free).toHaveLength(blocked.length);
    for (const id of old) expect(await pool.info(id)).toEqual({ ok: false, refusal: "not_found" });
  });

  it("after its batch committed is retried without releasing a block twice", async () => {
    const { pool, blocked } = await poolWithDueWork(0, 1);
    const id = blocked[0] as string;
    const firstLease = (await snapshot(pool)).leaseSeq;

    // The release commits, then reading the next deadline fails: the alarm throws after its work.
    expect(await alarmWithFailingStorage(pool, 2)).toBe(true);
    expect(await pool.info(id)).toMatchObject({ ok: true, value: { isBlocked: false } });
    // Before the retry comes, a client is handed the released key under a new lease.
    const held = await pool.assign();
    expect(held).toMatchObject({ ok: true, value: { keyId: id, lease: firstLease + 1 } });

    await retryAlarm(pool);
    // The retry found nothing due: the new holder keeps its block and its lease.
    expect(await pool.info(id)).toMatchObject({ ok: true, value: { isBlocked: true } });
    expect(await pool.setBlocked(id, false, adminWithLease(firstLease + 1))).toMatchObject({ ok: true });
    checkStorage(await snapshot(pool));
  });

  it("for good (retries exhausted) leaves the next change to re-arm the alarm for the overdue work", async () => {
    const { clock, pool } = await poolWithDueWork(4, 0);
    expect(await alarmWithFailingStorage(pool, 1)).toBe(true);
    // The platform gives up after its last retry: no alarm is stored, the expired keys still are.
    await runInDurableObject(pool, (_instance, state) => state.storage.deleteAlarm());
    clock.advance(1);
    await addKeys(pool, 1);
    const s = await snapshot(pool);
    expect(s.rows).toHaveLength(5);
    checkStorage(s);
  });
});

describe("an alarm that arrives late or twice", () => {
  it("changes nothing a client sees, however long after its deadlines it runs, and again after that", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    const ids: string[] = [...(await addKeys(pool, 6))];
    const [blocked, kept] = ids as [string, string];
    expect(await pool.setBlocked(blocked, true, ADMIN)).toMatchObject({ ok: true });
    expect(await pool.assign()).toMatchObject({ ok: true });
    clock.advance(KEY_TTL_MS - 1_000);
    expect(await pool.keepAlive(kept)).toMatchObject({ ok: true });
    // Long past every deadline but the kept key's: releases due, five keys expired, nothing run yet.
    clock.advance(KEY_TTL_MS - 1);
    const answers = async () => Promise.all(ids.map((id) => pool.info(id)));
    const before = await answers();
    expect(before.filter((a) => a.ok)).toHaveLength(1);

    await retryAlarm(pool); // late: everything due at once
    expect(await answers()).toEqual(before);
    await retryAlarm(pool); // delivered again: nothing left to do
    expect(await answers()).toEqual(before);
    const s = await snapshot(pool);
    checkStorage(s);
    expect(s.rows.map((r) => r.id)).toEqual([kept]);
  });
});
