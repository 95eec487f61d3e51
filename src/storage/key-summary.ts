import { FreeKeySet } from "./free-keys";
import type { CountedSql } from "./sql";

/**
 * What the object keeps in memory about its keys, so that a change of a key writes the key's row and
 * nothing else: the free keys (for a uniform pick) and the sums of what the rows count. Built with one
 * scan of `keys` the first time it is needed after the object starts, and kept in step with every
 * change after that; SQLite stays the truth, and the object drops it when a transaction fails.
 */
export class KeySummary {
  /** Keys with no block stored (`release_at IS NULL`). */
  readonly free = new FreeKeySet();
  /** Sums of the keys' `assignments` and `releases` columns. */
  assignments = 0;
  releases = 0;
  /** The largest lease ever handed out: the keys' own, and `pool_stats.lease_floor` for keys gone. */
  lease = 0;

  /** Reads every key once; `leaseFloor` is the largest lease of the keys no longer stored. */
  static scan(db: CountedSql, leaseFloor: number): KeySummary {
    const summary = new KeySummary();
    summary.lease = leaseFloor;
    const rows = db.scan("SELECT id, release_at, lease, assignments, releases FROM keys");
    for (const [id, releaseAt, lease, assignments, releases] of rows) {
      if (releaseAt === null) summary.free.add(new Uint8Array(id as ArrayBuffer));
      summary.assignments += assignments as number;
      summary.releases += releases as number;
      if (typeof lease === "number" && lease > summary.lease) summary.lease = lease;
    }
    return summary;
  }
}
