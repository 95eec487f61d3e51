import { contentJson } from "chanfana";
import type { Access } from "../access-openapi";
import { decodeCursor, encodeCursor } from "../cursor";
import { KeyPageBody, ListQuery, PoolParams } from "../pool-schemas";
import { errorResponses, PoolRoute } from "../route";

export class ListKeys extends PoolRoute {
  // Operators only: it shows the whole pool.
  protected override readonly access: Access = "admin";

  override schema = {
    operationId: "listKeys",
    tags: ["Pools"],
    summary: "One page of a pool's keys (never their values)",
    description:
      "Keyset pagination: each page reads `limit` keys whatever its number or the pool's size. Follow `cursor` " +
      "until it is null to see every key of an unchanged pool exactly once; keys that change state between " +
      "pages may appear in two pages or none. A bad cursor, or one from a listing of another state, is 400.",
    request: { params: PoolParams, query: ListQuery },
    responses: {
      "200": { description: "A page of keys", ...contentJson(KeyPageBody) },
      ...errorResponses(),
    },
  };

  override async handle() {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor, query.state);
    const page = await (await this.pool()).listKeys(query.state, query.limit, after);
    return { keys: page.keys, cursor: page.next === null ? null : encodeCursor(page.next) };
  }
}
