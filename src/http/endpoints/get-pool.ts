import { contentJson } from "chanfana";
import type { Access } from "../access-openapi";
import { PoolParams, PoolStatsBody } from "../pool-schemas";
import { errorResponses, PoolRoute } from "../route";

export class GetPool extends PoolRoute {
  // Operators only: it shows the whole pool.
  protected override readonly access: Access = "admin";

  override schema = {
    operationId: "getPool",
    tags: ["Pools"],
    summary: "A pool's key counts, event counters and settings",
    description:
      "Counts and counters are kept as the pool changes, so this reads one row. Deadlines that have passed " +
      "are settled first (in a bounded batch, as an assignment does), so the counts agree with every other " +
      "read; only while the alarm drains a mass expiry larger than that batch can they lag for a moment.",
    request: { params: PoolParams },
    responses: {
      "200": { description: "The pool's statistics", ...contentJson(PoolStatsBody) },
      ...errorResponses(),
    },
  };

  override async handle() {
    const { params } = await this.getValidatedData<typeof this.schema>();
    return { pool: params.pool, ...(await (await this.pool()).poolStats()) };
  }
}
