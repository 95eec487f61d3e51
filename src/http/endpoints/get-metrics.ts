import { MAX_SCRAPE_POOLS, MetricsQuery, MetricsText } from "../directory-schemas";
import { METRICS_CONTENT_TYPE, metricsText } from "../metrics-text";
import { endpoint } from "../route";

export const GetMetrics = endpoint({
  method: "get",
  path: "/metrics",
  operationId: "getMetrics",
  tags: ["Metrics"],
  summary: "Every pool's metrics in one scrape (Prometheus text format)",
  description:
    "The families of GET /pools/{pool}/metrics for every pool of the directory, one scrape target for them " +
    `all, bounded: at most \`limit\` pools (up to ${MAX_SCRAPE_POOLS}, the default) in name order, which costs one ` +
    "directory call and one call to each pool's object, all at once (O(limit) RPCs). A pool whose object does " +
    "not answer shows `keypool_pool_up{pool} 0` and no other series, rather than failing the scrape. " +
    "`keypool_directory_truncated` is 1 when more pools follow; the text then ends with the comment " +
    "`# keypool_next_cursor <cursor>`, to scrape the next page with `?cursor=`.",
  // Operators only: it shows every pool.
  access: "admin",
  request: { query: MetricsQuery },
  success: {
    status: 200,
    description: "The metrics of a page of pools",
    schema: MetricsText,
    mediaType: METRICS_CONTENT_TYPE,
  },
  refusals: [],

  async handle({ query }, call) {
    const page = await call.directoryPage(query.cursor, query.limit);
    return metricsText(page.pools, { next: page.next });
  },
});
