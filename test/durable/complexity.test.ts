import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { IdempotencyToken } from "../../src/pool/idempotency";
import { useFakeClock } from "../support/clock";
import { type Cost, costOf, expectFlatCost, ROWS_PER_SETTLED_KEY } from "../support/cost";
import { ADMIN, addKeys, adminWithLease, freshPool, poolWithoutTrail, warmUpObject } from "../support/pool";
import { BLOCK_TTL_MS, KEY_TTL_MS, MAX_HOLD_SECONDS } from "../support/timings";

/**
 * The rows each operation writes, as SQLite counts them (what Cloudflare bills: a row, and an index
 * entry it adds). Pinned on purpose: a change that writes more fails here and must update this table,
 * and the notes of its issue say what it adds. A key's row is one write; adding an entry to an index
 * is one more (removing one is not counted).
 */
const ROWS_WRITTEN = {
  "create(1)": 3, // the key's row, its expiry-index entry, the pool_stats row
  "create(1) with a label": 3, // the same: a label is a column of the row
  "import(1)": 3, // as create: the fingerprint is a column of the row, found in memory
  relabel: 1, // the row
  reveal: 0,
  info: 0,
  keepAlive: 2, // the row, its new expiry-index entry
  block: 2, // the row, its release-index entry
  renew: 2, // the row, its new release-index entry
  unblock: 1, // the row
  assign: 2, // the row (with its assignment count), its release-index entry
  "unblock by the holder": 1,
  "report error": 1, // the row (its failures, last outcome, report counter)
  "report ok": 1, // the row
  "report rate_limited": 2, // the row, its cooling-index entry
  disable: 2, // the row, its disabled-index entry
  enable: 1, // the row
  "assign, idempotent": 4, // the assignment, the idempotency entry and its expiry-index entry
  "assign, replayed": 0,
  "remove a free key": 2, // deleting the row; the pool_stats row
  "remove a blocked key": 2,
  "remove an imported key": 2, // deleting the row; the pool_stats row
  poolStats: 0,
  "alarm: one release due": 1, // the row, no more free keys than in the set held in memory
} as const;

/**
 * The audit entries each operation adds when the pool keeps its trail (the default): each is two rows
 * written, the entry and its `audit_by_key` index entry. Keep-alives, labels and reads add none.
 */
const AUDIT_ENTRIES: Record<keyof typeof ROWS_WRITTEN, number> = {
  "create(1)": 1,
  "create(1) with a label": 1,
  "import(1)": 1,
  relabel: 0,
  reveal: 0,
  info: 0,
  keepAlive: 0,
  block: 1,
  renew: 1,
  unblock: 1,
  assign: 1,
  "unblock by the holder": 1,
  "report error": 1,
  "report ok": 1,
  "report rate_limited": 1, // cooled, with the report's outcome
  disable: 1,
  enable: 1,
  "assign, idempotent": 1,
  "assign, replayed": 0,
  "remove a free key": 1,
  "remove a blocked key": 1,
  "remove an imported key": 1,
  poolStats: 0,
  "alarm: one release due": 1,
};
const ROWS_PER_AUDIT_ENTRY = 2;

/**
 * Every operation, measured on a pool of `size` keys, a fifth of them held for the longest hold, so
 * that every index (expiry, release) and the table grow with `size` and a scan of any of them would
 * cost more on the larger pool. None of those holds comes due during the test. Time moves on by a
 * millisecond between operations, so each one really changes what it changes.
 */
async function measure(size: number, trail = true): Promise<Record<string, Cost>> {
  const clock = useFakeClock();
  const stub = trail ? freshPool() : await poolWithoutTrail();
  await addKeys(stub, size);
  await runInDurableObject(stub, async (pool) => {
    for (let i = 0; i < size / 5; i++) await pool.assign({ holdSeconds: MAX_HOLD_SECONDS });
  });
  await warmUpObject(stub);
  const [id, other, reported] = (await addKeys(stub, 3)) as [string, string, string];
  const rows: Record<string, Cost> = {};
  const step = async (name: string, operation: Parameters<typeof costOf>[1]) => {
    clock.advance(1);
    rows[name] = await costOf(stub, operation);
  };
  let held = { keyId: "", lease: 0 };
  const token: IdempotencyToken = { keyHash: new Uint8Array(32).fill(7), requestHash: new Uint8Array(32).fill(8) };

  await step("create(1)", (p) => p.create(1));
  await step("create(1) with a label", (p) => p.create(1, { label: "labelled" }));
  let imported = "";
  await step("import(1)", async (p) => {
    const ids = await p.importKeys([{ key: `sk-${crypto.randomUUID()}` }]);
    if (ids.ok) imported = ids.value[0] as string;
  });
  await step("relabel", (p) => p.relabel(id, "relabelled"));
  await step("reveal", (p) => p.reveal(id));
  await step("info", (p) => p.info(id));
  await step("keepAlive", (p) => p.keepAlive(id));
  await step("block", (p) => {
    const blocked = p.setBlocked(id, true, ADMIN);
    if (blocked.ok) held = { keyId: id, lease: blocked.value.lease ?? 0 };
  });
  await step("renew", (p) => p.setBlocked(id, true, adminWithLease(held.lease)));
  await step("unblock", (p) => p.setBlocked(id, false, ADMIN));
  await step("assign", async (p) => {
    const assigned = await p.assign();
    if (assigned.ok) held = assigned.value;
  });
  await step("unblock by the holder", (p) => p.setBlocked(held.keyId, false, adminWithLease(held.lease)));
  await step("report error", (p) => p.report(reported, ADMIN, { outcome: "error" }));
  await step("report ok", (p) => p.report(reported, ADMIN, { outcome: "ok" }));
  // A day's cooldown: it does not come due in the alarm measured below.
  await step("report rate_limited", (p) =>
    p.report(reported, ADMIN, { outcome: "rate_limited", retryAfterMs: 86_400_000 }),
  );
  await step("disable", (p) => p.setDisabled(id, true));
  await step("enable", (p) => p.setDisabled(id, false));
  await step("assign, idempotent", async (p) => {
    const assigned = await p.assign({ idempotency: token });
    if (assigned.ok) held = assigned.value;
  });
  await step("assign, replayed", (p) => p.assign({ idempotency: token }));
  expect(await stub.setBlocked(held.keyId, false, adminWithLease(held.lease))).toMatchObject({ ok: true });
  await step("remove a free key", (p) => p.remove(other));
  await step("remove a blocked key", async (p) => {
    const assigned = await p.assign();
    if (!assigned.ok) throw new Error("expected a free key");
    return p.remove(assigned.value.keyId);
  });
  await step("remove an imported key", (p) => p.remove(imported));
  await step("poolStats", (p) => p.poolStats());
  // Blocks a free key for the pool's block time: the one release the alarm below has due.
  const assigned = await stub.assign();
  expect(assigned.ok).toBe(true);
  clock.advance(BLOCK_TTL_MS);
  expect(BLOCK_TTL_MS).toBeLessThan(KEY_TTL_MS); // nothing expires meanwhile
  rows["alarm: one release due"] = await costOf(stub, (p) => p.alarm());
  return rows;
}

describe("no operation grows with the pool", () => {
  it("costs the same statements and rows at 10 and at 10,000 keys, each statement a point access", async () => {
    const small = await measure(10);
    const large = await measure(10_000);
    // A request touches every row by a key; the alarm's set-based statements also read a bounded
    // number of rows for each key they settle, here the one release due. The removal of a blocked
    // key assigns it first, in the same measured call: two point statements more.
    expectFlatCost(small, large, (operation) => (operation.startsWith("alarm") ? ROWS_PER_SETTLED_KEY : 0));
    // With the trail (the default): each operation's own rows, and two for each audit entry.
    const written = Object.fromEntries(Object.entries(large).map(([name, cost]) => [name, cost.written]));
    const withoutTrail = { ...ROWS_WRITTEN, "remove a blocked key": 2 + ROWS_WRITTEN.assign };
    const entries = { ...AUDIT_ENTRIES, "remove a blocked key": AUDIT_ENTRIES.assign + 1 };
    expect(written).toEqual(
      Object.fromEntries(
        Object.entries(withoutTrail).map(([name, rows]) => [
          name,
          rows + ROWS_PER_AUDIT_ENTRY * entries[name as keyof typeof entries],
        ]),
      ),
    );
  }, 60_000);

  it("writes a call's audit entries in one statement, however many (an alarm run's too)", async () => {
    const withTrail = await measure(1_000);
    const withoutTrail = await measure(1_000, false);
    const added = Object.fromEntries(
      Object.entries(withTrail).map(([name, cost]) => [name, cost.statements - (withoutTrail[name]?.statements ?? 0)]),
    );
    // One more statement per call that records anything; the removal of a blocked key is two calls.
    const inserts = Object.fromEntries(Object.entries(AUDIT_ENTRIES).map(([name, n]) => [name, n > 0 ? 1 : 0]));
    expect(added).toEqual({ ...inserts, "remove a blocked key": 2 });
  }, 60_000);

  it("writes exactly its own rows in a pool that keeps no trail", async () => {
    const large = await measure(10_000, false);
    const written = Object.fromEntries(Object.entries(large).map(([name, cost]) => [name, cost.written]));
    expect(written).toEqual({ ...ROWS_WRITTEN, "remove a blocked key": 2 + ROWS_WRITTEN.assign });
  }, 60_000);

  it("finds when a key will be free with a point probe, writing nothing, when none is free now", async () => {
    // Every key held or cooling (a fifth of them cooling, one disabled): the answer is the earliest
    // release or cooldown end, whatever the number of keys.
    const measureNoneFree = async (size: number): Promise<Record<string, Cost>> => {
      const clock = useFakeClock();
      const stub = freshPool();
      const ids = await addKeys(stub, size);
      await runInDurableObject(stub, async (pool) => {
        let free = size;
        for (const [i, keyId] of ids.entries()) {
          if (i === 0) pool.setDisabled(keyId, true);
          else if (i % 5 === 0) pool.report(keyId, ADMIN, { outcome: "rate_limited", retryAfterMs: 1000 + i });
          else continue;
          free--;
        }
        for (; free > 0; free--) await pool.assign({ holdSeconds: MAX_HOLD_SECONDS });
      });
      await warmUpObject(stub);
      clock.advance(1);
      const cost = await costOf(stub, async (pool) => {
        expect(await pool.assign()).toMatchObject({ ok: false, refusal: "none_free", retryAfterSeconds: 2 }); // 1,004 ms, rounded up
      });
      return { "assign, none free": cost };
    };
    const small = await measureNoneFree(10);
    const large = await measureNoneFree(10_000);
    // Two statements: the check for due deadlines (three EXISTS probes in one statement, a row each)
    // and the two min() probes; one row more than two point statements.
    expectFlatCost(small, large, () => 1);
    expect(large["assign, none free"]?.written).toBe(0);
  }, 60_000);
});
