import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ALARM_BATCH, type KeyPool } from "../../src/key-pool";
import { IDEMPOTENCY_TTL_MS, type IdempotencyToken } from "../../src/pool/idempotency";
import { useFakeClock } from "../support/clock";
import { type Cost, costOf, expectFlatCost, ROWS_PER_SETTLED_KEY } from "../support/cost";
import { addKeys, armedAlarm, freshPool, internalsOf, poolWithoutTrail, warmUpObject } from "../support/pool";
import { KEY_TTL_MS } from "../support/timings";

function token(request = "GET /keys"): IdempotencyToken {
  const keyHash = crypto.getRandomValues(new Uint8Array(32));
  return { keyHash, requestHash: new TextEncoder().encode(request) };
}

const entryCount = (stub: DurableObjectStub<KeyPool>) =>
  runInDurableObject(
    stub,
    (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM idempotency").one().n,
  );

/** Stores `count` entries directly, expiring at `expiresAt`, to measure and drain large tables fast. */
function seedEntries(stub: DurableObjectStub<KeyPool>, count: number, expiresAt: number): Promise<void> {
  return runInDurableObject(stub, (instance) => {
    const answers = internalsOf(instance).idempotency;
    for (let i = 0; i < count; i++) {
      const { keyHash, requestHash } = token();
      answers.put(keyHash, { requestHash, expiresAt, outcome: '{"ok":false,"refusal":"none_free"}' });
    }
  });
}

describe("idempotency entries", () => {
  it("are kept for 24 hours, then the same key does the work again", async () => {
    const clock = useFakeClock();
    const pool = freshPool();
    const t = token();
    const first = await pool.create(1, { idempotency: t });
    clock.advance(IDEMPOTENCY_TTL_MS - 1);
    expect(await pool.create(1, { idempotency: t })).toEqual(first);
    clock.advance(1);
    const later = await pool.create(1, { idempotency: t });
    expect(later.ok && first.ok && later.value[0] !== first.value[0]).toBe(true);
  });

  it("are deleted by the alarm, which arms itself at the earliest entry once no key is left", async () => {
    const clock = useFakeClock();
    const t0 = clock.nowMs;
    const pool = await poolWithoutTrail();
    await pool.create(1, { idempotency: token("POST /keys") });
    expect(await armedAlarm(pool)).toBe(t0 + KEY_TTL_MS);
    clock.advance(KEY_TTL_MS);
    await runDurableObjectAlarm(pool); // the key expires; the entry stays
    expect(await entryCount(pool)).toBe(1);
    expect(await armedAlarm(pool)).toBe(t0 + IDEMPOTENCY_TTL_MS);
    clock.set(t0 + IDEMPOTENCY_TTL_MS);
    await runDurableObjectAlarm(pool);
    expect(await entryCount(pool)).toBe(0);
    expect(await armedAlarm(pool)).toBeNull();
  });

  it("are drained in bounded batches", async () => {
    const clock = useFakeClock();
    const pool = await poolWithoutTrail();
    await seedEntries(pool, ALARM_BATCH * 2 + 7, clock.nowMs + 1_000);
    clock.advance(1_000);
    const remaining: number[] = [];
    for (let run = 0; run < 3; run++) {
      await runInDurableObject(pool, (instance) => instance.alarm());
      remaining.push(await entryCount(pool));
    }
    expect(remaining).toEqual([ALARM_BATCH + 7, 7, 0]);
    expect(await armedAlarm(pool)).toBeNull();
  });

  it("survive an eviction of the object", async () => {
    const pool = freshPool();
    await addKeys(pool, 3);
    const t = token();
    const first = await pool.assign({ idempotency: t });
    await evictDurableObject(pool);
    expect(await pool.assign({ idempotency: t })).toEqual(first);
  });
});

/** Idempotent calls on a pool holding `entries` live idempotency entries. */
async function measure(entries: number): Promise<Record<string, Cost>> {
  const clock = useFakeClock();
  const stub = freshPool();
  await addKeys(stub, 10);
  await warmUpObject(stub);
  await seedEntries(stub, entries, clock.nowMs + IDEMPOTENCY_TTL_MS);
  const assign = token();
  const create = token("POST /keys");
  const rows: Record<string, Cost> = {};
  rows.assign = await costOf(stub, (p) => p.assign({ idempotency: assign }));
  rows.assignReplay = await costOf(stub, (p) => p.assign({ idempotency: assign }));
  rows.assignMismatch = await costOf(stub, (p) =>
    p.assign({ idempotency: { ...assign, requestHash: new Uint8Array(1) } }),
  );
  rows.create = await costOf(stub, (p) => p.create(1, { idempotency: create }));
  rows.createReplay = await costOf(stub, (p) => p.create(1, { idempotency: create }));
  // An alarm with one idempotency entry due among `entries`.
  await seedEntries(stub, 1, clock.nowMs + 1);
  clock.advance(1);
  rows.alarm = await costOf(stub, (p) => p.alarm());
  return rows;
}

describe("idempotency cost does not grow with the number of entries", () => {
  it("costs the same statements and rows at 10 and at 10,000 entries, each statement a point access", async () => {
    const small = await measure(10);
    const large = await measure(10_000);
    // As for the key operations (complexity.test.ts); the alarm here deletes the one entry due.
    expectFlatCost(small, large, (operation) => (operation === "alarm" ? ROWS_PER_SETTLED_KEY : 0));
    // A replay writes nothing: it does not do the work again.
    expect(large.assignReplay?.written).toBe(0);
    expect(large.createReplay?.written).toBe(0);
    expect(large.alarm?.written).toBeGreaterThan(0);
  });
});
