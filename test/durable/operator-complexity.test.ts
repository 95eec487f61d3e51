import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeyPool } from "../../src/key-pool";
import type { ListPosition } from "../../src/pool/listing";
import type { CountedSql } from "../../src/storage/counted-sql";
import { useFakeClock } from "../support/clock";
import { freshPool, storeOf } from "../support/pool";

type Rows = { read: number; written: number };

/** Rows SQLite read and wrote, through the key store and the operator stores, while `operation` ran. */
async function rowsFor(stub: DurableObjectStub<KeyPool>, operation: (pool: KeyPool) => unknown): Promise<Rows> {
  return runInDurableObject(stub, async (instance) => {
    const counters = [storeOf(instance), (instance as unknown as { ops: CountedSql }).ops];
    const total = () => ({
      read: counters.reduce((sum, c) => sum + c.rowsRead, 0),
      written: counters.reduce((sum, c) => sum + c.rowsWritten, 0),
    });
    const before = total();
    await operation(instance);
    const after = total();
    return { read: after.read - before.read, written: after.written - before.written };
  });
}

const PAGE = 50;

/** Statistics and pages deep into each listing, on a pool of `size` keys (a fifth of them blocked). */
async function measure(size: number): Promise<Record<string, Rows>> {
  useFakeClock();
  const stub = freshPool();
  for (let made = 0; made < size; made += 1000) await stub.create(Math.min(1000, size - made));
  await runInDurableObject(stub, (instance) => {
    for (let i = 0; i < size / 5; i++) instance.assign();
  });
  // A cursor a tenth of the way into each listing, taken from the pool itself.
  const positions = Object.fromEntries(
    await Promise.all(
      (["all", "free", "blocked"] as const).map(async (state) => {
        const { next } = await stub.listKeys(state, size / 10, null);
        return [state, next] as const;
      }),
    ),
  ) as Record<"all" | "free" | "blocked", ListPosition | null>;
  const rows: Record<string, Rows> = {};
  rows.stats = await rowsFor(stub, (p) => p.poolStats());
  for (const state of ["all", "free", "blocked"] as const) {
    rows[`first ${state} page`] = await rowsFor(stub, (p) => p.listKeys(state, PAGE, null));
    rows[`middle ${state} page`] = await rowsFor(stub, (p) => p.listKeys(state, PAGE, positions[state]));
  }
  rows.settings = await rowsFor(stub, (p) => p.updateSettings({ keyTtlSeconds: 30 }));
  return rows;
}

describe("operator reads do not grow with the pool", () => {
  it("reads the same rows for statistics and a page at 500 and at 10,000 keys", async () => {
    const small = await measure(500);
    const large = await measure(10_000);
    for (const [operation, rows] of Object.entries(large)) {
      const base = small[operation] as Rows;
      expect(rows.read, `${operation} rows read`).toBeLessThanOrEqual(base.read + 2);
      expect(rows.written, `${operation} rows written`).toBeLessThanOrEqual(base.written + 2);
    }
    expect(large.stats?.read).toBeLessThanOrEqual(6);
    // A page reads its keys and one more to know whether another follows, not the pool.
    for (const name of Object.keys(large).filter((n) => n.includes("page"))) {
      expect(large[name]?.read, name).toBeGreaterThanOrEqual(PAGE);
      expect(large[name]?.read, name).toBeLessThanOrEqual(PAGE + 10);
    }
  });
});
