import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { type Cost, costOf, expectFlatCost, ROWS_PER_SETTLED_KEY } from "../support/cost";
import { addKeys, freshPool } from "../support/pool";
import { BLOCK_TTL_MS, MAX_HOLD_SECONDS } from "../support/timings";

/**
 * Every operation, measured on a pool of `size` keys, a fifth of them held for the longest hold, so
 * that every index (expiry, release, free slot) and the table grow with `size` and a scan of any of
 * them would cost more on the larger pool. None of those holds comes due during the test.
 */
async function measure(size: number): Promise<Record<string, Cost>> {
  const clock = useFakeClock();
  const stub = freshPool();
  await addKeys(stub, size);
  await runInDurableObject(stub, (pool) => {
    for (let i = 0; i < size / 5; i++) pool.assign({ holdSeconds: MAX_HOLD_SECONDS });
  });
  const [target] = await addKeys(stub, 1);
  const id = target as string;
  const rows: Record<string, Cost> = {};
  rows.create = await costOf(stub, (p) => p.create(1));
  rows.reveal = await costOf(stub, (p) => p.reveal(id));
  rows.info = await costOf(stub, (p) => p.info(id));
  rows.keepAlive = await costOf(stub, (p) => p.keepAlive(id));
  rows.block = await costOf(stub, (p) => p.setBlocked(id, true));
  rows.unblock = await costOf(stub, (p) => p.setBlocked(id, false));
  rows.remove = await costOf(stub, (p) => p.remove(id));
  // Blocks a free key for the pool's block time: the one release the alarm below has due.
  rows.assign = await costOf(stub, (p) => p.assign());
  clock.advance(BLOCK_TTL_MS);
  rows.alarm = await costOf(stub, (p) => p.alarm());
  return rows;
}

describe("no operation grows with the pool", () => {
  it("costs the same statements and rows at 10 and at 10,000 keys, each statement a point access", async () => {
    const small = await measure(10);
    const large = await measure(10_000);
    // A request touches every row by a key; the alarm's set-based statements also read a bounded
    // number of rows for each key they settle, here the one release due.
    expectFlatCost(small, large, (operation) => (operation === "alarm" ? ROWS_PER_SETTLED_KEY : 0));
    // The alarm really released a key (rows written), so its count is not vacuous.
    expect(large.alarm?.written).toBeGreaterThan(0);
  }, 60_000);
});
