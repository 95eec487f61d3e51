import { decodeCursor, encodeCursor } from "../cursor";
import { KeyPageBody, ListQuery, PoolParams } from "../pool-schemas";
import { endpoint } from "../route";

export const ListKeys = endpoint({
  method: "get",
  path: "/pools/:pool/list",
  operationId: "listKeys",
  tags: ["Pools"],
  summary: "One page of a pool's keys (never their values)",
  description:
    "Keyset pagination: each page reads `limit` keys whatever its number or the pool's size. Follow `cursor` " +
    "until it is null to see every key of an unchanged pool exactly once; keys that change state between " +
    "pages may appear in two pages or none. A bad cursor, or one from a listing of another state, is 400.",
  // Operators only: it shows the whole pool.
  access: "admin",
  request: { params: PoolParams, query: ListQuery },
  success: { status: 200, description: "A page of keys", schema: KeyPageBody },
  errors: [],

  async handle({ query }, call) {
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor, query.state);
    const page = await call.pool().listKeys(query.state, query.limit, after);
    return { keys: page.keys, cursor: page.next === null ? null : encodeCursor(page.next) };
  },
});
