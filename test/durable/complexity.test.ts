import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeyPool } from "../../src/key-pool";
import { useFakeClock } from "../support/clock";
import { freshPool, storeOf } from "../support/pool";

type Rows = { read: number; written: number };

/** Rows SQLite read and wrote while `operation` ran inside the object. */
async function rowsFor(stub: DurableObjectStub<KeyPool>, operation: (pool: KeyPool) => unknown): Promise<Rows> {
  return runInDurableObject(stub, async (instance) => {
    const store = storeOf(instance);
    const before = { read: store.rowsRead, written: store.rowsWritten };
    await operation(instance);
    return { read: store.rowsRead - before.read, written: store.rowsWritten - before.written };
  });
}

/** Every operation, measured on a pool of `size` keys (one of them blocked). */
async function measure(size: number): Promise<Record<string, Rows>> {
  const clock = useFakeClock();
  const stub = freshPool();
  for (let made = 0; made < size; made += 1000) await stub.create(Math.min(1000, size - made));
  const [target] = await stub.create(1);
  const id = target as string;
  const rows: Record<string, Rows> = {};
  rows.create = await rowsFor(stub, (p) => p.create(1));
  rows.reveal = await rowsFor(stub, (p) => p.reveal(id));
  rows.info = await rowsFor(stub, (p) => p.info(id));
  rows.keepAlive = await rowsFor(stub, (p) => p.keepAlive(id));
  rows.block = await rowsFor(stub, (p) => p.setBlocked(id, true));
  rows.unblock = await rowsFor(stub, (p) => p.setBlocked(id, false));
  rows.remove = await rowsFor(stub, (p) => p.remove(id));
  // Last, so the random pick cannot take the key the operations above act on.
  rows.assign = await rowsFor(stub, (p) => p.assign());
  // An alarm with one release due among `size` keys.
  clock.advance(60_000);
  rows.alarm = await rowsFor(stub, (p) => p.alarm());
  return rows;
}

describe("no operation grows with the pool", () => {
  it("reads and writes the same bounded number of rows at 10 and at 10,000 keys", async () => {
    const small = await measure(10);
    const large = await measure(10_000);
    for (const [operation, rows] of Object.entries(large)) {
      const base = small[operation] as Rows;
      // A random pick may or may not move a slot, so allow a couple of rows either way.
      expect(rows.read, `${operation} rows read`).toBeLessThanOrEqual(base.read + 2);
      expect(rows.written, `${operation} rows written`).toBeLessThanOrEqual(base.written + 2);
      // A request reads a dozen rows at most; an alarm run is a fixed set of set-based statements
      // (due check, one DELETE, one UPDATE, the next deadline), whatever the pool size.
      expect(rows.read, `${operation} rows read`).toBeLessThanOrEqual(operation === "alarm" ? 20 : 12);
    }
    // The alarm really ran work (a release), so its count is not vacuous.
    expect(large.alarm?.written).toBeGreaterThan(0);
  }, 60_000);
});
