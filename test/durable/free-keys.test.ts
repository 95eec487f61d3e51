import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { ALARM_BATCH, type KeyPool } from "../../src/key-pool";
import { uuidToBytes } from "../../src/storage/uuid";
import { useFakeClock } from "../support/clock";
import { checkStorage, snapshot } from "../support/durable-pool";
import { ADMIN, addKeys, adminWithLease, freshPool, internalsOf } from "../support/pool";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

/** The free keys the object holds in memory are exactly the stored keys with no block (checkStorage). */
async function expectFreeSetInStep(stub: DurableObjectStub<KeyPool>, free: number): Promise<void> {
  const s = await snapshot(stub);
  checkStorage(s);
  expect(s.free).toHaveLength(free);
}

describe("the free keys held in memory", () => {
  it("follow bulk creates; each id is stored as the 16 bytes it names, each value sealed", async () => {
    useFakeClock();
    const pool = freshPool();
    const ids = [...(await addKeys(pool, 1000)), ...(await addKeys(pool, 1)), ...(await addKeys(pool, 250))];
    expect(new Set(ids).size).toBe(1251);
    await expectFreeSetInStep(pool, 1251);
    const stored = await runInDurableObject(pool, (_instance, state) =>
      ids.filter(
        (id) =>
          state.storage.sql
            // A sealed generated value: a 12-byte nonce, the UUID's 16 bytes encrypted, a 16-byte tag.
            .exec(
              "SELECT 1 FROM keys WHERE id = ? AND length(id) = 16 AND length(secret) = 44 AND sealed_by IS NOT NULL",
              uuidToBytes(id),
            )
            .toArray().length === 1,
      ),
    );
    expect(stored).toHaveLength(1251);
  });

  it("lose the keys a mass expiry deletes, blocked or not, and keep the rest", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    const early = await addKeys(pool, 700);
    clock.advance(1_000);
    await addKeys(pool, 600);
    for (let i = 0; i < 50; i++) expect((await pool.assign()).ok).toBe(true);
    clock.set(clock.nowMs - 1_000 + KEY_TTL_MS);
    // Enough batches for the first 700 and no more: the second batch's keys are not due yet.
    for (let run = 0; run < Math.ceil(700 / ALARM_BATCH); run++) await runDurableObjectAlarm(pool);
    const s = await snapshot(pool);
    checkStorage(s);
    expect(s.rows).toHaveLength(600);
    for (const id of early.slice(0, 5)) expect(await pool.info(id)).toEqual({ ok: false, refusal: "not_found" });
  });

  it("take back every key many released blocks free in one alarm run, each assigned once after", async () => {
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
    await expectFreeSetInStep(pool, ALARM_BATCH + 100);
    const again = new Set<string>();
    for (let i = 0; i < ALARM_BATCH + 100; i++) {
      const assigned = await pool.assign();
      if (!assigned.ok) throw new Error("expected a free key");
      again.add(assigned.value.keyId);
    }
    expect(again.size).toBe(ALARM_BATCH + 100);
    for (const id of held) expect(again.has(id)).toBe(true);
    expect(await pool.assign()).toMatchObject({ ok: false, refusal: "none_free" });
  }, 30_000);

  it("are drawn uniformly: a chi-square test over many assignments, while keys join and leave", async () => {
    useFakeClock();
    const pool = freshPool();
    const ids = await addKeys(pool, 12);
    // Two keys stay blocked, so the draws are over the ten others, whose positions move as keys leave
    // and join the set on every cycle.
    for (const id of ids.slice(0, 2)) expect(await pool.setBlocked(id, true, ADMIN)).toMatchObject({ ok: true });
    const draws = 5_000;
    const counts = await runInDurableObject(pool, async (instance: KeyPool) => {
      const tally = new Map<string, number>();
      for (let i = 0; i < draws; i++) {
        const assigned = await instance.assign();
        if (!assigned.ok) throw new Error("expected a free key");
        tally.set(assigned.value.keyId, (tally.get(assigned.value.keyId) ?? 0) + 1);
        instance.setBlocked(assigned.value.keyId, false, adminWithLease(assigned.value.lease));
      }
      return tally;
    });
    expect([...counts.keys()].sort()).toEqual(ids.slice(2).sort());
    const expected = draws / 10;
    const chi2 = [...counts.values()].reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: a uniform draw exceeds 27.88 once in a thousand runs.
    expect(chi2).toBeLessThan(27.88);
  });

  it("are rebuilt from storage when the object starts again", async () => {
    useFakeClock();
    const pool = freshPool();
    const ids = await addKeys(pool, 20);
    expect(await pool.setBlocked(ids[0] as string, true, ADMIN)).toMatchObject({ ok: true });
    for (let i = 0; i < 5; i++) expect((await pool.assign()).ok).toBe(true);
    const before = await snapshot(pool);
    await evictDurableObject(pool);
    const after = await snapshot(pool);
    checkStorage(after);
    expect([...after.free].sort()).toEqual([...before.free].sort());
    expect(after.leaseSeq).toBe(before.leaseSeq);
  });

  it("are dropped when a transaction fails, so they never show a change SQLite rolled back", async () => {
    useFakeClock();
    const pool = freshPool();
    await addKeys(pool, 3);
    await expectFreeSetInStep(pool, 3);
    await runInDurableObject(pool, async (instance: KeyPool) => {
      const { keys } = internalsOf(instance);
      const save = keys.save.bind(keys);
      // The assignment's write and its change to the free set both happen, then the transaction fails.
      const failing = vi.spyOn(keys, "save").mockImplementation((...args) => {
        save(...args);
        throw new Error("storage failed after the write");
      });
      try {
        await expect(instance.assign()).rejects.toThrow("storage failed after the write");
      } finally {
        failing.mockRestore();
      }
    });
    await expectFreeSetInStep(pool, 3);
    expect((await pool.assign()).ok).toBe(true);
    await expectFreeSetInStep(pool, 2);
  });
});
