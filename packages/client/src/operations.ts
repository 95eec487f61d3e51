/**
 * Every API operation the client calls, keyed by the server's `operationId`. A test checks each
 * entry against /openapi.json (method, path, success status, the statuses the client gives a meaning
 * to, the query parameters and headers it relies on), and that the document has no operation
 * missing here.
 */
export interface Operation {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /**
   * `keys`: below the pool's keys (`/keys`, or `/pools/{pool}/keys` when the client has a pool);
   * `pool`: the operator API below `/pools/{pool}` (the pool `default` when the client has none);
   * `root`: the operator API over every pool (`/pools`, `/metrics`), whatever the client's pool.
   */
  readonly scope: "keys" | "pool" | "root";
  readonly path:
    | ""
    | "/{id}"
    | "/{id}/info"
    | "/{id}/alive"
    | "/{id}/report"
    | "/list"
    | "/settings"
    | "/audit"
    | "/metrics"
    | "/pools";
  readonly success: number;
  /** Error statuses the client acts on (lease loss, release, replays); the server must document them. */
  readonly handles: readonly number[];
  readonly query: readonly string[];
  /** Changes state: sent with an `Idempotency-Key`, the same one on every retry. */
  readonly mutates: boolean;
  /** The server honours `Idempotency-Key` here, so a retry never does the work twice. */
  readonly deduplicated: boolean;
  /** The answer is text (the Prometheus text format), not JSON. */
  readonly text?: true;
}

const read = { scope: "keys", mutates: false, deduplicated: false, query: [] } as const;
const write = { scope: "keys", mutates: true, deduplicated: false, query: [] } as const;
const operator = { scope: "pool", handles: [], deduplicated: false, query: [] } as const;

export const OPERATIONS = {
  // Also `importKeys`, whose 409 (a value given twice or in the pool already) has details.
  createKeys: { ...write, method: "POST", path: "", success: 201, handles: [409, 422], deduplicated: true },
  assignKey: {
    ...write,
    method: "GET",
    path: "",
    success: 200,
    // 404 when no key is free (with `retryAfterSeconds`), 429 when too many callers wait for one.
    handles: [404, 422, 429],
    query: ["holdSeconds", "waitSeconds"],
    deduplicated: true,
  },
  getKey: { ...read, method: "GET", path: "/{id}", success: 200, handles: [403, 404] },
  getKeyInfo: { ...read, method: "GET", path: "/{id}/info", success: 200, handles: [404] },
  deleteKey: { ...write, method: "DELETE", path: "/{id}", success: 200, handles: [404] },
  // Also `setLabel`, `disableKey` and `enableKey`.
  updateKey: { ...write, method: "PUT", path: "/{id}", success: 200, handles: [404, 409] },
  keepAlive: { ...write, method: "PUT", path: "/{id}/alive", success: 200, handles: [404, 409], query: ["lease"] },
  // Also `lease.report`. Not deduplicated: a lease treats a 409 on a retry as its own earlier report's doing.
  reportKey: { ...write, method: "POST", path: "/{id}/report", success: 200, handles: [404, 409] },
  getPool: { ...operator, method: "GET", path: "", success: 200, mutates: false },
  listKeys: {
    ...operator,
    method: "GET",
    path: "/list",
    success: 200,
    mutates: false,
    query: ["state", "limit", "cursor"],
  },
  updatePoolSettings: { ...operator, method: "PUT", path: "/settings", success: 200, mutates: true },
  getAudit: {
    ...operator,
    method: "GET",
    path: "/audit",
    success: 200,
    mutates: false,
    query: ["keyId", "since", "until", "after", "limit"],
  },
  retirePool: { ...operator, method: "DELETE", path: "", success: 200, mutates: true },
  getPoolMetrics: { ...operator, method: "GET", path: "/metrics", success: 200, mutates: false, text: true },
  listPools: {
    ...operator,
    scope: "root",
    method: "GET",
    path: "/pools",
    success: 200,
    mutates: false,
    query: ["limit", "cursor"],
  },
  getMetrics: {
    ...operator,
    scope: "root",
    method: "GET",
    path: "/metrics",
    success: 200,
    mutates: false,
    query: ["limit", "cursor"],
    text: true,
  },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;
