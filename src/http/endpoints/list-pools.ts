import { PoolListQuery, PoolPageBody } from "../directory-schemas";
import { endpoint } from "../route";

export const ListPools = endpoint({
  method: "get",
  path: "/pools",
  operationId: "listPools",
  tags: ["Pools"],
  summary: "Every pool, page by page, with its key counts",
  description:
    "Keyset pagination by pool name: a page reads its own rows of the directory, whatever the number of pools, " +
    "then asks each listed pool's object for its counts, all at once: a page is one directory call and `limit` " +
    "pool calls (O(limit) RPCs). A pool whose object fails or does not answer within 2 s is listed with `keys` and " +
    "`waiting` null " +
    "rather than failing the page. Follow `cursor` until it is null; a malformed cursor is 400.\n\n" +
    "A pool is listed from the moment an admin makes it (by creating keys in it or setting its settings) until " +
    "it is retired with DELETE /pools/{pool}: deleting or expiring its last key leaves it listed, empty.",
  // Operators only: it shows every pool.
  access: "admin",
  request: { query: PoolListQuery },
  success: { status: 200, description: "A page of pools", schema: PoolPageBody },
  refusals: [],

  async handle({ query }, call) {
    const page = await call.directoryPage(query.cursor, query.limit);
    return {
      pools: page.pools.map(({ pool, stats }) => ({
        pool,
        keys: stats === null ? null : stats.keys,
        waiting: stats === null ? null : stats.waiting,
      })),
      cursor: page.next,
    };
  },
});
