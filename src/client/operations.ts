/**
 * Every API operation the client calls, keyed by the server's `operationId`. A test checks each
 * entry against /openapi.json (method, path, success status, the statuses the client gives a meaning
 * to, the query parameters and headers it relies on), and that the document has no operation
 * missing here.
 */
export interface Operation {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Below the pool's base path (`/keys` or `/pools/{pool}/keys`). */
  readonly path: "" | "/{id}" | "/{id}/info" | "/{id}/alive";
  readonly success: number;
  /** Error statuses the client acts on (lease loss, release, replays); the server must document them. */
  readonly handles: readonly number[];
  readonly query: readonly string[];
  /** Changes state: sent with an `Idempotency-Key`, the same one on every retry. */
  readonly mutates: boolean;
  /** The server honours `Idempotency-Key` here, so a retry never does the work twice. */
  readonly deduplicated: boolean;
}

const read = { mutates: false, deduplicated: false, query: [] } as const;

export const OPERATIONS = {
  createKeys: { method: "POST", path: "", success: 201, handles: [422], query: [], mutates: true, deduplicated: true },
  assignKey: {
    method: "GET",
    path: "",
    success: 200,
    handles: [404, 422],
    query: ["holdSeconds"],
    mutates: true,
    deduplicated: true,
  },
  getKey: { ...read, method: "GET", path: "/{id}", success: 200, handles: [403, 404] },
  getKeyInfo: { ...read, method: "GET", path: "/{id}/info", success: 200, handles: [404] },
  deleteKey: {
    method: "DELETE",
    path: "/{id}",
    success: 200,
    handles: [404],
    query: [],
    mutates: true,
    deduplicated: false,
  },
  updateKey: {
    method: "PUT",
    path: "/{id}",
    success: 200,
    handles: [404, 409],
    query: [],
    mutates: true,
    deduplicated: false,
  },
  keepAlive: {
    method: "PUT",
    path: "/{id}/alive",
    success: 200,
    handles: [404, 409],
    query: ["lease"],
    mutates: true,
    deduplicated: false,
  },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;
