import { type KeyState, settle } from "./rules";
import { type ListedKey, toInfo } from "./views";

/**
 * Listing a pool's keys for operators, one page at a time. Each state is listed in the order of an
 * index the pool already keeps, so a page costs O(limit x log n) and no index is added to the hot
 * write path: all keys by id, free keys by their free slot, blocked keys by (release time, id).
 */
export type ListState = "all" | "free" | "blocked";

/** Where the previous page ended, in the order its state is listed in. */
export type ListPosition =
  | { readonly state: "all"; readonly id: string }
  | { readonly state: "free"; readonly slot: number }
  | { readonly state: "blocked"; readonly releaseAt: number; readonly id: string };

/** A stored key as the listing reads it: no value, plus its free slot. */
export type ListedRow = KeyState & { readonly freeSlot: number | null };

/**
 * The key as listed at `now`, or null when it no longer belongs to the listing: expired, or (its
 * block being due) no longer blocked. Rows come from storage, where the alarm may not have applied
 * a passed deadline yet; the listing shows what every other read shows.
 */
export function listed(row: ListedRow, now: number, state: ListState): ListedKey | null {
  const current = settle(row, now);
  if (current === null) return null;
  if (state === "blocked" && current.block === null) return null;
  return { keyId: current.keyId, ...toInfo(current) };
}

/** The position just after `row` in `state`'s order. */
export function positionAfter(row: ListedRow, state: ListState): ListPosition {
  if (state === "all") return { state, id: row.keyId };
  if (state === "free") {
    if (row.freeSlot === null) throw new Error("a free listing row has no free slot");
    return { state, slot: row.freeSlot };
  }
  if (row.block === null) throw new Error("a blocked listing row has no block");
  return { state, releaseAt: row.block.releaseAt, id: row.keyId };
}
