import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeyPool } from "../../src/key-pool";
import { ALARM_BATCH } from "../../src/key-pool";
import { uuidToBytes } from "../../src/storage/uuid";
import { useFakeClock } from "../support/clock";
import { addKeys, freshPool } from "../support/pool";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

type Layout = { freeCount: number; freeSlots: number[]; blockedWithSlot: number; badBlobs: number; keys: number };

/** What storage holds: the free-slot array and the stored form of every id and secret. */
function layout(stub: DurableObjectStub<KeyPool>): Promise<Layout> {
  return runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const one = (query: string) => sql.exec<{ n: number }>(query).one().n;
    return {
      freeCount: one("SELECT free_count AS n FROM pool_meta"),
      freeSlots: sql
        .exec<{ slot: number }>("SELECT free_slot AS slot FROM keys WHERE free_slot IS NOT NULL ORDER BY free_slot")
        .toArray()
        .map((row) => row.slot),
      blockedWithSlot: one("SELECT count(*) AS n FROM keys WHERE release_at IS NOT NULL AND free_slot IS NOT NULL"),
      badBlobs: one(
        "SELECT count(*) AS n FROM keys WHERE typeof(id) <> 'blob' OR length(id) <> 16 OR length(secret) <> 16",
      ),
      keys: one("SELECT count(*) AS n FROM keys"),
    };
  });
}

/** Free keys hold exactly the slots 0..free_count-1; blocked keys hold none. */
async function expectDenseFreeSlots(stub: DurableObjectStub<KeyPool>, free: number): Promise<void> {
  const now = await layout(stub);
  expect(now.freeCount).toBe(free);
  expect(now.freeSlots).toEqual(Array.from({ length: free }, (_, i) => i));
  expect(now.blockedWithSlot).toBe(0);
  expect(now.badBlobs).toBe(0);
}

describe("the free-slot array", () => {
  it("is dense after bulk creates, and each created id is stored as the 16 bytes it names", async () => {
    useFakeClock();
    const pool = freshPool();
    const ids = [...(await addKeys(pool, 1000)), ...(await addKeys(pool, 1)), ...(await addKeys(pool, 250))];
    expect(new Set(ids).size).toBe(1251);
    await expectDenseFreeSlots(pool, 1251);
    const stored = await runInDurableObject(pool, (_instance, state) =>
      ids.filter(
        (id) => state.storage.sql.exec("SELECT 1 FROM keys WHERE id = ?", uuidToBytes(id)).toArray().length === 1,
      ),
    );
    expect(stored).toHaveLength(1251);
  });

  it("stays dense when a mass expiry deletes free keys from anywhere in the array", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    const early = await addKeys(pool, 700);
    clock.advance(1_000);
    await addKeys(pool, 600);
    // Keys from both batches leave the free array (blocked), so holes open in the middle too.
    for (let i = 0; i < 50; i++) expect((await pool.assign()).ok).toBe(true);
    clock.set(clock.nowMs - 1_000 + KEY_TTL_MS);
    // Enough batches for the first 700 and no more: the second batch's keys are not due yet.
    for (let run = 0; run < Math.ceil(700 / ALARM_BATCH); run++) await runDurableObjectAlarm(pool);
    const after = await layout(pool);
    // Every key of the first batch is gone, blocked or not; the second batch is intact.
    expect(after.keys).toBe(600);
    for (const id of early.slice(0, 5)) expect(await pool.info(id)).toEqual({ ok: false, refusal: "not_found" });
    await expectDenseFreeSlots(pool, 600 - (await blockedCount(pool)));
  });

  it("fills holes from the top when expired keys leave both the middle and the end of the array", async () => {
    const clock = useFakeClock();
    const t0 = clock.nowMs;
    const pool = freshPool();
    const ids = await addKeys(pool, 10); // slots 0..9, in this order
    clock.advance(1_000);
    // Every key but those in slots 3 and 8 lives on, so exactly those two expire together.
    for (const [slot, id] of ids.entries()) if (slot !== 3 && slot !== 8) await pool.keepAlive(id);
    clock.set(t0 + KEY_TTL_MS);
    await runDurableObjectAlarm(pool);
    await expectDenseFreeSlots(pool, 8);
    expect(await pool.info(ids[3] as string)).toEqual({ ok: false, refusal: "not_found" });
    expect(await pool.info(ids[9] as string)).toMatchObject({ ok: true });
  });

  it("stays dense when many blocks are released in one alarm run, and each released key is assigned once", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    await addKeys(pool, ALARM_BATCH + 100);
    const held = new Set<string>();
    for (let i = 0; i < ALARM_BATCH + 50; i++) {
      const assigned = await pool.assign();
      if (!assigned.ok) throw new Error("expected a free key");
      held.add(assigned.value.keyId);
    }
    clock.advance(BLOCK_TTL_MS);
    await runDurableObjectAlarm(pool); // releases one batch
    await runDurableObjectAlarm(pool); // and the rest
    await expectDenseFreeSlots(pool, ALARM_BATCH + 100);
    const again = new Set<string>();
    for (let i = 0; i < ALARM_BATCH + 100; i++) {
      const assigned = await pool.assign();
      if (!assigned.ok) throw new Error("expected a free key");
      again.add(assigned.value.keyId);
    }
    expect(again.size).toBe(ALARM_BATCH + 100);
    for (const id of held) expect(again.has(id)).toBe(true);
    expect(await pool.assign()).toEqual({ ok: false, refusal: "none_free" });
  }, 30_000);
});

function blockedCount(stub: DurableObjectStub<KeyPool>): Promise<number> {
  return runInDurableObject(
    stub,
    (_instance, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM keys WHERE release_at IS NOT NULL").one().n,
  );
}
