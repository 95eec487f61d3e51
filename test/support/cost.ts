import { runInDurableObject } from "cloudflare:test";
import { expect, vi } from "vitest";
import type { KeyPool } from "../../src/key-pool";
import { internalsOf } from "./pool";

/** What one call cost the object's SQLite database. */
export interface Cost {
  read: number;
  written: number;
  /** Queries it ran. */
  statements: number;
}

/**
 * The most rows SQLite counts as read for one statement that finds what it touches by a key (the
 * primary key, a unique index, or a one-row table such as `pool_meta`): the row it finds, and the
 * same row once more for an UPDATE or DELETE with RETURNING; an EXISTS probe or a min() counts the
 * index entry it stops at. Every query a request makes is such a statement, so a request reads at
 * most this many rows per statement; a scan, even of a small table, reads more.
 */
const ROWS_PER_POINT_STATEMENT = 2;

/**
 * The most rows SQLite counts as read, beyond its statement's own, for one key an alarm's set-based
 * statement settles (src/storage/key-store.ts `deleteExpired`, `releaseDue`; the idempotency store's
 * `deleteDue`): the key's entry in the due index, the row, once more as it is changed or deleted, and
 * the subquery's own rows. Measured (storage v2): 5 per key beyond the first, 7 for a statement that
 * settles one.
 */
export const ROWS_PER_SETTLED_KEY = 7;

/**
 * Runs `operation` inside the pool's object and answers what it returned and what it cost: the rows
 * SQLite read and wrote for every query of the object (its one `CountedSql`, src/storage/sql.ts),
 * and how many queries it ran.
 */
export function measureCall<T>(
  stub: DurableObjectStub<KeyPool>,
  operation: (pool: KeyPool) => T,
): Promise<{ cost: Cost; result: Awaited<T> }> {
  return runInDurableObject(stub, async (instance: KeyPool) => {
    const { db } = internalsOf(instance);
    const before = { read: db.rowsRead, written: db.rowsWritten, statements: db.statements };
    const result = await operation(instance);
    const cost = {
      read: db.rowsRead - before.read,
      written: db.rowsWritten - before.written,
      statements: db.statements - before.statements,
    };
    return { cost, result };
  });
}

/**
 * What `operation` cost (see `measureCall`), with the object's random draw fixed to free slot 0: a
 * draw of the last slot leaves no hole to fill and costs a statement less, so with a fixed draw the
 * same call on a small and a large pool costs exactly the same when nothing grows with the pool.
 */
export async function costOf(stub: DurableObjectStub<KeyPool>, operation: (pool: KeyPool) => unknown): Promise<Cost> {
  const draw = vi.spyOn(crypto, "getRandomValues").mockImplementation((array) => {
    if (array !== null) new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(0);
    return array;
  });
  try {
    return (await measureCall(stub, operation)).cost;
  } finally {
    draw.mockRestore();
  }
}

/**
 * The same operations measured on a small and a large pool: each costs exactly the same on both (the
 * same statements, rows read and rows written), since anything that grows with what the large pool
 * has more of (a scan, a statement per key) makes them differ; and each reads at most
 * ROWS_PER_POINT_STATEMENT rows per statement plus `rangeRows(operation)`, the rows it reads by design
 * in a range (a page's keys, the keys an alarm settles), which a scan of even a small table exceeds.
 */
export function expectFlatCost(
  small: Record<string, Cost>,
  large: Record<string, Cost>,
  rangeRows: (operation: string) => number = () => 0,
): void {
  expect(Object.keys(large)).toEqual(Object.keys(small));
  for (const [operation, cost] of Object.entries(large)) {
    expect(cost, operation).toEqual(small[operation]);
    const bound = ROWS_PER_POINT_STATEMENT * cost.statements + rangeRows(operation);
    expect(cost.read, `${operation} rows read`).toBeLessThanOrEqual(bound);
  }
}
