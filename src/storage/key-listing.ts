import { isTimed, type ListedRow, type ListPosition, type ListState, type TimedState } from "../pool/listing";
import { STATE_COLUMNS as COLUMNS, type KeyColumns as Row, stateOf } from "./key-rows";
import type { CountedSql } from "./sql";
import { uuidToBytes } from "./uuid";

/**
 * Keyset pagination over the indexes the pool already has: each page is one range scan that starts
 * after the previous page's last row, so it reads `window` rows (and one more) whatever the page
 * number or the pool size, and a pool that does not change between pages lists every key exactly once.
 */
export class KeyListing {
  constructor(private readonly db: CountedSql) {}

  /**
   * Up to `window` stored keys after `after` (from the start when null) in `state`'s order: by id for
   * `all` and `free` (the caller picks the free ones), by release for `blocked`. `more` says whether
   * storage holds more after them.
   */
  page(state: ListState, after: ListPosition | null, window: number): { rows: ListedRow[]; more: boolean } {
    const rows = this.#query(state, after, window + 1).map(stateOf);
    return { rows: rows.slice(0, window), more: rows.length > window };
  }

  #query(state: ListState, after: ListPosition | null, limit: number): Row[] {
    if (!isTimed(state)) {
      return after === null
        ? this.db.run(`SELECT ${COLUMNS} FROM keys ORDER BY id LIMIT ?`, limit)
        : this.db.run(`SELECT ${COLUMNS} FROM keys WHERE id > ? ORDER BY id LIMIT ?`, uuidToBytes(after.id), limit);
    }
    // keys_by_release, keys_by_cooling, keys_by_disabled: partial indexes whose entries are (time, id),
    // id being the table's primary key. The column is one of three literals, never input.
    const column = TIME_COLUMNS[state];
    return after !== null && "at" in after
      ? this.db.run(
          `SELECT ${COLUMNS} FROM keys WHERE ${column} IS NOT NULL AND (${column}, id) > (?, ?)
           ORDER BY ${column}, id LIMIT ?`,
          after.at,
          uuidToBytes(after.id),
          limit,
        )
      : this.db.run(`SELECT ${COLUMNS} FROM keys WHERE ${column} IS NOT NULL ORDER BY ${column}, id LIMIT ?`, limit);
  }
}

const TIME_COLUMNS: Record<TimedState, string> = {
  blocked: "release_at",
  cooling: "cooling_until",
  disabled: "disabled_at",
};
