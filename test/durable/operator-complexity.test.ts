import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { FREE_LIST_WINDOW, type ListPosition } from "../../src/pool/listing";
import { useFakeClock } from "../support/clock";
import { type Cost, costOf, expectFlatCost } from "../support/cost";
import { addKeys, freshPool, warmUpObject } from "../support/pool";

const PAGE = 50;

/** Statistics and pages deep into each listing, on a pool of `size` keys (a fifth of them blocked). */
async function measure(size: number): Promise<Record<string, Cost>> {
  useFakeClock();
  const stub = freshPool();
  await addKeys(stub, size);
  await runInDurableObject(stub, (instance) => {
    for (let i = 0; i < size / 5; i++) instance.assign();
  });
  await warmUpObject(stub);
  // A cursor a twentieth of the way into each listing, taken from the pool itself: a full page and
  // the one row past it still follow, even in the small pool's blocked listing (100 keys), so the
  // page costs the same there as in the large pool's.
  const positions = Object.fromEntries(
    await Promise.all(
      (["all", "free", "blocked"] as const).map(async (state) => {
        const page = await stub.listKeys(state, size / 20, null);
        if (!page.ok) throw new Error(`listing refused: ${page.refusal}`);
        return [state, page.value.next] as const;
      }),
    ),
  ) as Record<"all" | "free" | "blocked", ListPosition | null>;
  const rows: Record<string, Cost> = {};
  rows.stats = await costOf(stub, (p) => p.poolStats());
  for (const state of ["all", "free", "blocked"] as const) {
    rows[`first ${state} page`] = await costOf(stub, (p) => p.listKeys(state, PAGE, null));
    rows[`middle ${state} page`] = await costOf(stub, (p) => p.listKeys(state, PAGE, positions[state]));
  }
  rows.settings = await costOf(stub, (p) => p.updateSettings({ keyTtlSeconds: 30 }));
  return rows;
}

describe("operator reads do not grow with the pool", () => {
  it("costs the same statements and rows for statistics and a page at 3,000 and at 10,000 keys", async () => {
    // Both larger than the window a page of free keys looks through, so that page reads a full window.
    const small = await measure(3_000);
    const large = await measure(10_000);
    // Statistics and settings touch one-row tables by key; a page is one range scan of its window and
    // one row more (to know whether another page follows): PAGE rows, or the free keys' window.
    const window = (operation: string) => (operation.includes("free") ? FREE_LIST_WINDOW : PAGE) + 1;
    expectFlatCost(small, large, (operation) => (operation.includes("page") ? window(operation) : 0));
    for (const name of Object.keys(large).filter((n) => n.includes("page"))) {
      expect(large[name]?.read, name).toBeGreaterThanOrEqual(PAGE);
    }
  });
});
