import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { DirectoryStore } from "../../src/storage/directory-store";
import { CountedSql } from "../../src/storage/sql";

const PAGE = 50;

/**
 * What one page of the directory costs its SQLite database, at the start and deep into a directory of
 * `size` pools: the store the directory object pages with (`PoolDirectory.list`), on a directory
 * object of this test's own.
 */
function measure(size: number): Promise<Record<string, { read: number; statements: number; names: number }>> {
  return runInDurableObject(env.POOL_DIRECTORY.getByName(`cost-${size}-${crypto.randomUUID()}`), (_i, state) => {
    const db = new CountedSql(state.storage.sql);
    const store = new DirectoryStore(db);
    for (let i = 0; i < size; i++) store.add(`pool-${String(i).padStart(6, "0")}`, 0);
    const cost = (after: string | null) => {
      const before = { read: db.rowsRead, statements: db.statements };
      const page = store.page(after, PAGE);
      return {
        read: db.rowsRead - before.read,
        statements: db.statements - before.statements,
        names: page.names.length,
      };
    };
    return {
      first: cost(null),
      middle: cost(`pool-${String(size / 2).padStart(6, "0")}`),
    };
  });
}

it("reads a page's own rows of the directory and one more, whatever the number of pools", async () => {
  const small = await measure(200);
  const large = await measure(5_000);
  expect(large).toEqual(small);
  for (const [page, cost] of Object.entries(large)) {
    expect(cost.names, page).toBe(PAGE);
    expect(cost.statements, page).toBe(1);
    expect(cost.read, page).toBeLessThanOrEqual(PAGE + 1);
  }
});
