import { PoolParams, PoolStatsBody } from "../pool-schemas";
import { endpoint, unwrap } from "../route";

export const GetPool = endpoint({
  method: "get",
  path: "/pools/:pool",
  operationId: "getPool",
  tags: ["Pools"],
  summary: "A pool's key counts, event counters, settings and encryption status",
  description:
    "Counts and counters are kept as the pool changes, so this reads one row. Deadlines that have passed " +
    "are settled first (in a bounded batch, as an assignment does), so the counts agree with every other " +
    "read; only while the alarm drains a mass expiry larger than that batch can they lag for a moment.",
  // Operators only: it shows the whole pool.
  access: "admin",
  request: { params: PoolParams },
  success: { status: 200, description: "The pool's statistics", schema: PoolStatsBody },
  refusals: ["no_such_pool"],

  async handle({ params }, call) {
    return { pool: params.pool, ...unwrap(await (await call.pool()).poolStats()) };
  },
});
