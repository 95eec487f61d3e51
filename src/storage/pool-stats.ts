import type { Counter } from "../pool/events";
import type { CountedSql } from "./sql";

/** Why a key leaves the pool: each reason is a counter of `pool_stats`. */
export type Departure = "deleted" | "expired";

/** The `pool_stats` row. `assigned` and `released` hold only what keys no longer stored counted. */
export interface StoredStats {
  readonly total: number;
  readonly counters: Readonly<Record<Counter, number>>;
  /** The largest lease of any key no longer stored. */
  readonly leaseFloor: number;
}

/**
 * The `pool_stats` row: written when keys arrive or leave (which write rows anyway), never on a
 * change of a key that stays, so an assignment or a release writes only its key's row.
 */
export class PoolStatsStore {
  constructor(private readonly db: CountedSql) {}

  /** `count` keys were created. */
  created(count: number): void {
    this.db.run("UPDATE pool_stats SET total = total + ?1, created = created + ?1 WHERE id = 1", count);
  }

  /** Keys left, counted by `why`, with what their rows had counted and the largest lease they had. */
  departed(why: Departure, count: number, counted: { assignments: number; releases: number; lease: number }): void {
    // `why` is one of two literals, never input: it names a column.
    this.db.run(
      `UPDATE pool_stats SET total = total - ?1, ${why} = ${why} + ?1, assigned = assigned + ?2,
         released = released + ?3, lease_floor = max(lease_floor, ?4) WHERE id = 1`,
      count,
      counted.assignments,
      counted.releases,
      counted.lease,
    );
  }

  read(): StoredStats {
    const [row] = this.db.run<Record<"total" | "lease_floor" | Counter, number>>(
      "SELECT total, created, assigned, released, expired, deleted, lease_floor FROM pool_stats WHERE id = 1",
    );
    if (row === undefined) throw new Error("pool_stats row is missing");
    const { total, lease_floor: leaseFloor, ...counters } = row;
    return { total, counters, leaseFloor };
  }
}
