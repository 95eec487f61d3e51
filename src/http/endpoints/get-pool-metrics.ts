import { PoolMetricsText } from "../directory-schemas";
import { METRICS_CONTENT_TYPE, metricsText } from "../metrics-text";
import { PoolParams } from "../pool-schemas";
import { endpoint, unwrap } from "../route";

export const GetPoolMetrics = endpoint({
  method: "get",
  path: "/pools/:pool/metrics",
  operationId: "getPoolMetrics",
  tags: ["Metrics"],
  summary: "A pool's counts and counters in the Prometheus text format",
  description:
    "What GET /pools/{pool} shows, for Prometheus to scrape: gauges `keypool_keys{pool,state}`, " +
    "`keypool_waiting_callers`, `keypool_reseal_backlog`, `keypool_values_unavailable` and `keypool_pool_up`, " +
    "and counters since the pool began (`keypool_keys_created_total`, `keypool_assignments_total`, " +
    "`keypool_releases_total`, `keypool_keys_expired_total`, `keypool_keys_deleted_total`, " +
    "`keypool_cooldowns_total`, `keypool_keys_disabled_total`, `keypool_reports_total{outcome}`), each with " +
    "`# HELP` and `# TYPE`. One call to the pool's object, which reads one row. A retired pool made again " +
    "starts its counters at 0, which Prometheus reads as a counter reset. Errors are JSON, as everywhere.",
  // Operators only: it shows the whole pool.
  access: "admin",
  request: { params: PoolParams },
  success: {
    status: 200,
    description: "The pool's metrics",
    schema: PoolMetricsText,
    mediaType: METRICS_CONTENT_TYPE,
  },
  refusals: ["no_such_pool"],

  async handle({ params }, call) {
    const stats = unwrap(await (await call.pool()).poolStats());
    return metricsText([{ pool: params.pool, stats }]);
  },
});
