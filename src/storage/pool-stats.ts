import { COUNTERS, type Counter } from "../pool/events";
import type { CountedSql } from "./sql";

/** The stored keys and the event counters of one pool, as `GET /pools/{pool}` reads them. */
export interface StoredStats {
  readonly total: number;
  readonly counters: Readonly<Record<Counter, number>>;
}

/**
 * The `pool_stats` row: kept up to date in the same transaction as every change of a key, so
 * reading the statistics is one row however large the pool is.
 */
export class PoolStatsStore {
  constructor(private readonly db: CountedSql) {}

  /** `n` events that move `counter` (if any) and change the number of stored keys by `keys` each. */
  add(counter: Counter | null, keys: number, n: number): void {
    if (n === 0 || (counter === null && keys === 0)) return;
    // `counter` is one of COUNTERS, never input: it names a column.
    const bump = counter === null ? "" : `, ${counter} = ${counter} + ?2`;
    this.db.run(`UPDATE pool_stats SET total = total + ?1 * ?2${bump} WHERE id = 1`, keys, n);
  }

  read(): StoredStats {
    const [row] = this.db.run<Record<"total" | Counter, number>>(
      `SELECT total, ${COUNTERS.join(", ")} FROM pool_stats WHERE id = 1`,
    );
    if (row === undefined) throw new Error("pool_stats row is missing");
    const { total, ...counters } = row;
    return { total, counters };
  }
}
