import { COUNTERS, type Counter, KEY_COUNTED, type KeyCounted, STATS_COLUMNS } from "../pool/events";
import type { CountedSql } from "./sql";

/** Why a key leaves the pool: each reason is a counter of `pool_stats`. */
export type Departure = "deleted" | "expired";

/** The `pool_stats` row. The counters keys count on their own rows hold only what keys no longer stored counted. */
export interface StoredStats {
  readonly total: number;
  readonly counters: Readonly<Record<Counter, number>>;
  /** The largest lease of any key no longer stored. */
  readonly leaseFloor: number;
}

/** What the rows of keys counted (`KEY_COUNTED`), summed. */
export type KeyCounts = Record<KeyCounted, number>;

export function noKeyCounts(): KeyCounts {
  return Object.fromEntries(Object.keys(KEY_COUNTED).map((name) => [name, 0])) as KeyCounts;
}

const KEY_COUNTED_NAMES = Object.keys(KEY_COUNTED) as KeyCounted[];

/**
 * The `pool_stats` row: written when keys arrive or leave (which write rows anyway), never on a
 * change of a key that stays, so an assignment, a release or a report writes only its key's row.
 */
export class PoolStatsStore {
  constructor(private readonly db: CountedSql) {}

  /** `count` keys were created. */
  created(count: number): void {
    this.db.run("UPDATE pool_stats SET total = total + ?1, created = created + ?1 WHERE id = 1", count);
  }

  /** Keys left, counted by `why`, with what their rows had counted and the largest lease they had. */
  departed(why: Departure, count: number, counted: KeyCounts, lease: number): void {
    // Every column named here is one of this code's literals, never input.
    const sums = KEY_COUNTED_NAMES.map((name, i) => `${STATS_COLUMNS[name]} = ${STATS_COLUMNS[name]} + ?${i + 3}`);
    this.db.run(
      `UPDATE pool_stats SET total = total - ?1, ${why} = ${why} + ?1, ${sums.join(", ")},
         lease_floor = max(lease_floor, ?2) WHERE id = 1`,
      count,
      lease,
      ...KEY_COUNTED_NAMES.map((name) => counted[name]),
    );
  }

  read(): StoredStats {
    const columns = COUNTERS.map((counter) => `${STATS_COLUMNS[counter]} AS ${counter}`).join(", ");
    const [row] = this.db.run<Record<"total" | "lease_floor" | Counter, number>>(
      `SELECT total, lease_floor, ${columns} FROM pool_stats WHERE id = 1`,
    );
    if (row === undefined) throw new Error("pool_stats row is missing");
    const { total, lease_floor: leaseFloor, ...counters } = row;
    return { total, counters, leaseFloor };
  }
}
