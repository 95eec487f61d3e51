import type { ListedRow, ListPosition, ListState } from "../pool/listing";
import { STATE_COLUMNS as COLUMNS, type KeyColumns as Row, stateOf } from "./key-store";
import type { CountedSql } from "./sql";
import { uuidToBytes } from "./uuid";

/**
 * Keyset pagination over the indexes the pool already has: each page is one range scan that starts
 * after the previous page's last row, so it reads `limit` rows whatever the page number or the pool
 * size, and a pool that does not change between pages lists every key exactly once.
 */
export class KeyListing {
  constructor(private readonly db: CountedSql) {}

  /** Up to `limit` stored keys of `state` after `after` (from the start when null), in `state`'s order. */
  page(state: ListState, after: ListPosition | null, limit: number): ListedRow[] {
    return this.query(state, after, limit).map(stateOf);
  }

  private query(state: ListState, after: ListPosition | null, limit: number): Row[] {
    switch (state) {
      case "all":
        return after?.state === "all"
          ? this.db.run(`SELECT ${COLUMNS} FROM keys WHERE id > ? ORDER BY id LIMIT ?`, uuidToBytes(after.id), limit)
          : this.db.run(`SELECT ${COLUMNS} FROM keys ORDER BY id LIMIT ?`, limit);
      case "free":
        // keys_by_free_slot; free keys hold slots 0..free_count-1.
        return this.db.run(
          `SELECT ${COLUMNS} FROM keys WHERE free_slot IS NOT NULL AND free_slot > ? ORDER BY free_slot LIMIT ?`,
          after?.state === "free" ? after.slot : -1,
          limit,
        );
      case "blocked":
        // keys_by_release: its entries are (release_at, id), id being the table's primary key.
        return after?.state === "blocked"
          ? this.db.run(
              `SELECT ${COLUMNS} FROM keys WHERE release_at IS NOT NULL AND (release_at, id) > (?, ?)
               ORDER BY release_at, id LIMIT ?`,
              after.releaseAt,
              uuidToBytes(after.id),
              limit,
            )
          : this.db.run(
              `SELECT ${COLUMNS} FROM keys WHERE release_at IS NOT NULL ORDER BY release_at, id LIMIT ?`,
              limit,
            );
    }
  }
}
