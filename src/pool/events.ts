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
  | "deleted"
  | "reported"
  | "cooled"
  | "disabled"
  | "enabled";

/**
 * The counters a pool keeps, each counting one event since the pool (or its statistics) began.
 * `assigned` counts `GET /keys` only and `released` automatic releases only (a block that ran out):
 * an operator's block or unblock (`PUT /keys/{id}`) is logged but counted by neither. `cooled` counts
 * cooldowns started or extended by reports, `disabled` keys disabled (by a report or an admin), and
 * `reportedOk`, `reportedRateLimited`, `reportedUnauthorized`, `reportedError` the reports by outcome.
 */
export const COUNTERS = [
  "created",
  "assigned",
  "released",
  "expired",
  "deleted",
  "cooled",
  "disabled",
  "reportedOk",
  "reportedRateLimited",
  "reportedUnauthorized",
  "reportedError",
] as const;
export type Counter = (typeof COUNTERS)[number];

/** The counters the keys' own rows count while they are stored, and the `keys` column of each. */
export const KEY_COUNTED = {
  assigned: "assignments",
  released: "releases",
  cooled: "cooldowns",
  disabled: "disables",
  reportedOk: "reported_ok",
  reportedRateLimited: "reported_rate_limited",
  reportedUnauthorized: "reported_unauthorized",
  reportedError: "reported_error",
} as const satisfies Partial<Record<Counter, string>>;
export type KeyCounted = keyof typeof KEY_COUNTED;

/** The `pool_stats` column of each counter. */
export const STATS_COLUMNS: Record<Counter, string> = {
  created: "created",
  assigned: "assigned",
  released: "released",
  expired: "expired",
  deleted: "deleted",
  cooled: "cooled",
  disabled: "disabled",
  reportedOk: "reported_ok",
  reportedRateLimited: "reported_rate_limited",
  reportedUnauthorized: "reported_unauthorized",
  reportedError: "reported_error",
};

/** The counter of a report's outcome. */
export const REPORTED: Record<"ok" | "rate_limited" | "unauthorized" | "error", KeyCounted> = {
  ok: "reportedOk",
  rate_limited: "reportedRateLimited",
  unauthorized: "reportedUnauthorized",
  error: "reportedError",
};
