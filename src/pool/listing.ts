import { type KeyState, settle, stateOf } from "./rules";
import { type ListedKey, toInfo } from "./views";

/**
 * Listing a pool's keys for operators, one page at a time, in the order of an index the pool already
 * keeps, so that no index is added to the hot write path: all keys and free keys by id (the primary
 * key), blocked keys by (release time, id), cooling keys by (end of the cooldown, id), disabled keys
 * by (time disabled, id). A page of `free` keys looks through at most FREE_LIST_WINDOW keys for them,
 * so it may hold fewer than asked for, and a page costs O(window) whatever the pool's size.
 */
export type ListState = "all" | "free" | "blocked" | "cooling" | "disabled";

/** The states listed in the order of a time (and then the id): the index each has. */
export type TimedState = "blocked" | "cooling" | "disabled";

export function isTimed(state: ListState): state is TimedState {
  return state === "blocked" || state === "cooling" || state === "disabled";
}

/** Most keys a page of free keys looks at. */
export const FREE_LIST_WINDOW = 1000;

/** Where the previous page ended, in the order its state is listed in. */
export type ListPosition =
  | { readonly state: "all" | "free"; readonly id: string }
  | { readonly state: TimedState; readonly at: number; readonly id: string };

/** A stored key as the listing reads it: no value. */
export type ListedRow = KeyState;

export interface Page {
  readonly keys: ListedKey[];
  /** Where the next page starts, or null after the last page. */
  readonly next: ListPosition | null;
}

/**
 * The key as listed at `now`, or null when it does not belong to the listing: expired, or (its block
 * being due or not) not of `state`. Rows come from storage, where the alarm may not have applied a
 * passed deadline yet; the listing shows what every other read shows.
 */
export function listed(row: ListedRow, now: number, state: ListState, lockDelayMs = 0): ListedKey | null {
  const current = settle(row, now, lockDelayMs);
  if (current === null) return null;
  if (state !== "all" && stateOf(current) !== state) return null;
  return { keyId: current.keyId, ...toInfo(current) };
}

/**
 * Up to `limit` keys of `state` from `rows` (read in the listing's order after the last page), and
 * where the next page starts: after the last key taken, or after the last row read when `rows` ran
 * out first; null when `more` says storage held no rows after these.
 */
export function pageOf(
  rows: readonly ListedRow[],
  more: boolean,
  now: number,
  state: ListState,
  limit: number,
  lockDelayMs = 0,
): Page {
  const keys: ListedKey[] = [];
  for (const [index, row] of rows.entries()) {
    const key = listed(row, now, state, lockDelayMs);
    if (key === null) continue;
    keys.push(key);
    if (keys.length === limit) {
      const next = index < rows.length - 1 || more ? positionAfter(row, state) : null;
      return { keys, next };
    }
  }
  const last = rows.at(-1);
  return { keys, next: more && last !== undefined ? positionAfter(last, state) : null };
}

/** The position just after `row` in `state`'s order. */
export function positionAfter(row: ListedRow, state: ListState): ListPosition {
  if (!isTimed(state)) return { state, id: row.keyId };
  const at = { blocked: row.block?.releaseAt, cooling: row.coolingUntil, disabled: row.disabledAt }[state];
  if (at === undefined || at === null) throw new Error(`a ${state} listing row has no time to order it by`);
  return { state, at, id: row.keyId };
}
