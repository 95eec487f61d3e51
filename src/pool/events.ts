/**
 * What happens to keys in a pool, as operators see it: every event is one structured log entry (a
 * batch of keys is one entry, with their count and ids), and most also move a counter of
 * `GET /pools/{pool}`.
 */

/** A change of a key's state. Keep-alives and block renewals only move deadlines and are not events. */
export type PoolEvent =
  | "created"
  | "imported"
  | "assigned"
  | "blocked"
  | "unblocked"
  | "released"
  | "expired"
  | "deleted";

/**
 * The counters a pool keeps, each counting one event since the pool (or its statistics) began.
 * `assigned` counts `GET /keys` only and `released` automatic releases only (a block that ran out):
 * an operator's block or unblock (`PUT /keys/{id}`) is logged but counted by neither.
 */
export const COUNTERS = ["created", "assigned", "released", "expired", "deleted"] as const;
export type Counter = (typeof COUNTERS)[number];
