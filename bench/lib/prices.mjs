/**
 * Cloudflare's published prices, in US dollars, as published, November 2026: the Workers Paid plan's
 * rates for usage beyond what the plan includes each month (developers.cloudflare.com, Durable
 * Objects "Pricing" and Workers "Pricing"). SQLite-backed Durable Objects are billed for rows read,
 * rows written and stored data since January 2026. The one place the bench reads a price from:
 * change them here when Cloudflare does, with the date.
 */
export const PRICES_READ = "November 2026";

export const DURABLE_OBJECT = {
  /** Per million requests to an object: each RPC method call on a stub, HTTP request or alarm run. */
  requests: 0.15,
  /** Per million rows SQLite writes (each new index entry is a row too), as its own counter reports them. */
  rowsWritten: 1.0,
  /** Per million rows SQLite reads, as its own counter reports them. */
  rowsRead: 0.001,
  /**
   * Per million GB-s of duration: wall-clock time while the object runs or sits in memory unable to
   * hibernate (an object with no WebSocket is billed only while it works), at its whole allocation.
   */
  gbSeconds: 12.5,
  /** The allocation duration is billed at, whatever the object uses: 128 MB, in GB as Cloudflare's examples count it. */
  memoryGb: 0.128,
  /** Per GB-month of SQLite data stored. */
  storedGbMonth: 0.2,
};

/** The Worker in front (KeyPool's HTTP layer), billed apart from the object. */
export const WORKER = {
  /** Per million requests the Worker serves. */
  requests: 0.3,
  /** Per million milliseconds of CPU the Worker uses (not wall time: waiting on the object is free). */
  cpuMs: 0.02,
};
