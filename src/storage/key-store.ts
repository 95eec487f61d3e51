import type { ListedRow } from "../pool/listing";
import type { KeyRecord } from "../pool/rules";
import type { CountedSql } from "./sql";
import { bytesToUuid, uuidToBytes } from "./uuid";

/** A key as read from storage: the record plus where it sits in the free-slot array, if free. */
export interface StoredKey {
  readonly record: KeyRecord;
  readonly freeSlot: number | null;
}

/** A row of `keys` but its `secret`: what a listing reads. */
export type KeyColumns = {
  id: ArrayBuffer;
  created_at: number;
  last_activity: number;
  expires_at: number;
  blocked_at: number | null;
  release_at: number | null;
  lease: number | null;
  free_slot: number | null;
};

type KeyRow = KeyColumns & { secret: ArrayBuffer };

/** Every column but the secret: what a listing reads (it has no use for key values). */
export const STATE_COLUMNS = "id, created_at, last_activity, expires_at, blocked_at, release_at, lease, free_slot";
const COLUMNS = `${STATE_COLUMNS}, secret`;

/**
 * Every query a pool makes, over the object's synchronous SQLite API. Each one is a point lookup or
 * a bounded range scan on an index, so no operation grows with the pool. Free keys are kept in a
 * dense array of slots (swap-remove on leaving), which makes a uniform random pick one index probe.
 */
export class KeyStore {
  constructor(private readonly db: CountedSql) {}

  get(keyId: string): StoredKey | null {
    const [row] = this.db.run<KeyRow>(`SELECT ${COLUMNS} FROM keys WHERE id = ?`, uuidToBytes(keyId));
    return row === undefined ? null : fromRow(row);
  }

  /**
   * Inserts new, free keys in two statements however many there are: they take the next free slots,
   * and the rows travel as one JSON array that SQLite expands itself (one statement per key made a
   * 1000-key create cost ~2,000 statements; bound parameters are also capped per statement).
   */
  insertFree(records: readonly KeyRecord[]): void {
    if (records.length === 0) return;
    const first = this.claimFreeSlots(records.length);
    const rows = records.map((r) => [hex(r.keyId), hex(r.key), r.createdAt, r.lastActivity, r.expiresAt]);
    this.db.run(
      `INSERT INTO keys (id, secret, created_at, last_activity, expires_at, free_slot)
       SELECT unhex(value ->> 0), unhex(value ->> 1), value ->> 2, value ->> 3, value ->> 4, ? + key
       FROM json_each(?)`,
      first,
      JSON.stringify(rows),
    );
  }

  /**
   * Writes `next` over `stored`, moving the key into or out of the free slots as its block changes.
   * `stored` must have been read in this transaction after the last change to the free slots.
   */
  save(stored: StoredKey, next: KeyRecord): void {
    const wasFree = stored.freeSlot !== null;
    const isFree = next.block === null;
    let slot = stored.freeSlot;
    if (wasFree && !isFree) slot = null;
    if (!wasFree && isFree) slot = this.claimFreeSlot();
    this.db.run(
      `UPDATE keys SET last_activity = ?, expires_at = ?, blocked_at = ?, release_at = ?, lease = ?, free_slot = ?
       WHERE id = ?`,
      next.lastActivity,
      next.expiresAt,
      next.block?.blockedAt ?? null,
      next.block?.releaseAt ?? null,
      next.block?.lease ?? null,
      slot,
      uuidToBytes(next.keyId),
    );
    if (stored.freeSlot !== null && !isFree) this.releaseFreeSlots([stored.freeSlot]);
  }

  /**
   * Deletes a key. Its free slot is read back from the row itself, not from the caller's copy: in a
   * batch, deleting one free key moves another into its slot, so copies read before are stale.
   */
  delete(keyId: string): void {
    const rows = this.db.run<{ free_slot: number | null }>(
      "DELETE FROM keys WHERE id = ? RETURNING free_slot",
      uuidToBytes(keyId),
    );
    this.releaseFreeSlots(freeSlotsOf(rows));
  }

  /** Which kinds of deadline are due at `now`: two index probes, so callers run only the work there is. */
  due(now: number): { expiries: boolean; releases: boolean } {
    const [row] = this.db.run<{ expiries: number; releases: number }>(
      `SELECT EXISTS (SELECT 1 FROM keys WHERE expires_at <= ?1) AS expiries,
              EXISTS (SELECT 1 FROM keys WHERE release_at <= ?1) AS releases`,
      now,
    );
    return { expiries: row?.expiries === 1, releases: row?.releases === 1 };
  }

  /**
   * Deletes up to `limit` keys whose expiry is at or before `now`, earliest first, and returns their
   * ids. A constant number of statements however many keys go (one per key made an alarm run of 500
   * expiries cost ~50 ms of CPU).
   */
  deleteExpired(now: number, limit: number): string[] {
    const rows = this.db.run<{ id: ArrayBuffer; free_slot: number | null }>(
      `DELETE FROM keys WHERE id IN (SELECT id FROM keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
       RETURNING id, free_slot`,
      now,
      limit,
    );
    this.releaseFreeSlots(freeSlotsOf(rows));
    return rows.map((row) => bytesToUuid(row.id));
  }

  /**
   * Ends up to `limit` blocks whose release is at or before `now`, earliest first, and returns the
   * keys' ids. The released keys take the next free slots, in the same order.
   */
  releaseDue(now: number, limit: number): string[] {
    // The LIMIT applies before the numbering, so the keys released get exactly the ranks 1..n.
    const rows = this.db.run<{ id: ArrayBuffer }>(
      `UPDATE keys SET blocked_at = NULL, release_at = NULL, lease = NULL,
         free_slot = (SELECT free_count FROM pool_meta WHERE id = 1) + due.rank - 1
       FROM (SELECT id, row_number() OVER () AS rank
             FROM (SELECT id FROM keys WHERE release_at <= ? ORDER BY release_at LIMIT ?)) AS due
       WHERE keys.id = due.id
       RETURNING keys.id`,
      now,
      limit,
    );
    if (rows.length > 0) this.claimFreeSlots(rows.length);
    return rows.map((row) => bytesToUuid(row.id));
  }

  freeCount(): number {
    return this.meta().free_count;
  }

  /** The free key in slot `slot`, 0 <= slot < freeCount(). */
  freeKeyAt(slot: number): StoredKey | null {
    const [row] = this.db.run<KeyRow>(`SELECT ${COLUMNS} FROM keys WHERE free_slot = ?`, slot);
    return row === undefined ? null : fromRow(row);
  }

  /**
   * The live key latest to expire that is free or whose block is due, or null if there is none. For
   * an assignment whose random draws keep hitting expired keys during a mass expiry: walking the
   * expiry index down from the top visits no expired key at all, only live keys still held.
   */
  latestAvailable(now: number): StoredKey | null {
    const [row] = this.db.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys INDEXED BY keys_by_expiry
       WHERE expires_at > ? AND (free_slot IS NOT NULL OR release_at <= ?) ORDER BY expires_at DESC LIMIT 1`,
      now,
      now,
    );
    return row === undefined ? null : fromRow(row);
  }

  /** The next fencing number: grows with every block in the pool, never reused. */
  nextLease(): number {
    const [row] = this.db.run<{ lease_seq: number }>(
      "UPDATE pool_meta SET lease_seq = lease_seq + 1 WHERE id = 1 RETURNING lease_seq",
    );
    return (row as { lease_seq: number }).lease_seq;
  }

  /** How many blocked keys have a release at or before `now`: O(that many) on the release index. */
  countDueReleases(now: number): number {
    const [row] = this.db.run<{ n: number }>("SELECT count(*) AS n FROM keys WHERE release_at <= ?", now);
    return row?.n ?? 0;
  }

  /** The `offset`-th (0-based, earliest first) blocked key whose release is at or before `now`. */
  dueReleaseAt(now: number, offset: number): StoredKey | null {
    const [row] = this.db.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys WHERE release_at <= ? ORDER BY release_at LIMIT 1 OFFSET ?`,
      now,
      offset,
    );
    return row === undefined ? null : fromRow(row);
  }

  /** The earliest pending deadline of any key (expiry or release), or null for an empty pool. */
  earliestDeadline(): number | null {
    const [expiry] = this.db.run<{ at: number | null }>("SELECT min(expires_at) AS at FROM keys");
    const [release] = this.db.run<{ at: number | null }>(
      "SELECT min(release_at) AS at FROM keys WHERE release_at IS NOT NULL",
    );
    const times = [expiry?.at, release?.at].filter((t): t is number => typeof t === "number");
    return times.length === 0 ? null : Math.min(...times);
  }

  private meta(): { free_count: number } {
    const [row] = this.db.run<{ free_count: number }>("SELECT free_count FROM pool_meta WHERE id = 1");
    return row as { free_count: number };
  }

  /** Appends a slot to the free array and returns its index. */
  private claimFreeSlot(): number {
    return this.claimFreeSlots(1);
  }

  /** Appends `count` slots to the free array and returns the index of the first. */
  private claimFreeSlots(count: number): number {
    const [row] = this.db.run<{ first: number }>(
      "UPDATE pool_meta SET free_count = free_count + ? WHERE id = 1 RETURNING free_count - ? AS first",
      count,
      count,
    );
    return (row as { first: number }).first;
  }

  /**
   * Removes the keys that held `slots` (already deleted or given NULL) from the free array: the free
   * keys left above its new end move down into the holes below it, lowest first.
   */
  private releaseFreeSlots(slots: readonly number[]): void {
    if (slots.length === 0) return;
    const [row] = this.db.run<{ size: number }>(
      "UPDATE pool_meta SET free_count = free_count - ? WHERE id = 1 RETURNING free_count AS size",
      slots.length,
    );
    const size = (row as { size: number }).size;
    if (slots.length === 1) {
      // One key left the array (the common case): the last free key, in slot `size`, takes its slot.
      const [slot] = slots as [number];
      if (slot < size) this.db.run("UPDATE keys SET free_slot = ? WHERE free_slot = ?", slot, size);
      return;
    }
    const holes = slots.filter((slot) => slot < size).sort((a, b) => a - b);
    if (holes.length === 0) return;
    // As many free keys remain at or above `size` as there are holes below it. Sources and targets
    // are disjoint, so no row can be moved twice within the one UPDATE.
    const movers = this.db.run<{ slot: number }>(
      "SELECT free_slot AS slot FROM keys WHERE free_slot >= ? ORDER BY free_slot",
      size,
    );
    const moves = movers.map((mover, i) => [mover.slot, holes[i]]);
    this.db.run(
      `UPDATE keys SET free_slot = move.value ->> 1 FROM json_each(?) AS move
       WHERE keys.free_slot = move.value ->> 0`,
      JSON.stringify(moves),
    );
  }
}

function freeSlotsOf(rows: ReadonlyArray<{ free_slot: number | null }>): number[] {
  return rows.flatMap((row) => (row.free_slot === null ? [] : [row.free_slot]));
}

/** A UUID as the 32 hex digits SQLite's `unhex` turns into its 16 stored bytes. */
function hex(uuid: string): string {
  return uuid.replaceAll("-", "");
}

/** A row read without its secret, as the pool's rules see a key's state. */
export function stateOf(row: KeyColumns): ListedRow {
  const block =
    row.blocked_at === null || row.release_at === null || row.lease === null
      ? null
      : { blockedAt: row.blocked_at, releaseAt: row.release_at, lease: row.lease };
  return {
    keyId: bytesToUuid(row.id),
    createdAt: row.created_at,
    lastActivity: row.last_activity,
    expiresAt: row.expires_at,
    block,
    freeSlot: row.free_slot,
  };
}

function fromRow(row: KeyRow): StoredKey {
  const { freeSlot, ...state } = stateOf(row);
  return { record: { ...state, key: bytesToUuid(row.secret) }, freeSlot };
}
