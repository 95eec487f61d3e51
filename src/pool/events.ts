/**
 * What happens to keys in a pool, as operators see it: every event is one structured log object,
 * and most also move a counter of `GET /pools/{pool}`. No I/O here: the Durable Object writes the
 * counters and the log line (a batch of keys is one line, with their count and ids).
 */

/** A change of a key's state. Keep-alives and block renewals only move deadlines and are not events. */
export type PoolEvent = "created" | "assigned" | "blocked" | "unblocked" | "released" | "expired" | "deleted";

/** The counters a pool keeps, each counting one event since the pool (or its statistics) began. */
export const COUNTERS = ["created", "assigned", "released", "expired", "deleted"] as const;
export type Counter = (typeof COUNTERS)[number];

/**
 * How each event moves the counters and the number of stored keys. `assigned` counts `GET /keys`
 * only and `released` automatic releases only: an operator's block or unblock (`PUT /keys/{id}`) is
 * logged but counted by neither.
 */
export const EFFECTS: Readonly<Record<PoolEvent, { readonly counter: Counter | null; readonly keys: -1 | 0 | 1 }>> = {
  created: { counter: "created", keys: 1 },
  assigned: { counter: "assigned", keys: 0 },
  blocked: { counter: null, keys: 0 },
  unblocked: { counter: null, keys: 0 },
  released: { counter: "released", keys: 0 },
  expired: { counter: "expired", keys: -1 },
  deleted: { counter: "deleted", keys: -1 },
};
