import type { KeyRecord } from "../pool/rules";
import { bytesToUuid, uuidToBytes } from "../pool/uuid";
import { SCHEMA, SCHEMA_VERSION } from "./schema";

/** A key as read from storage: the record plus where it sits in the free-slot array, if free. */
export interface StoredKey {
  readonly record: KeyRecord;
  readonly freeSlot: number | null;
}

type KeyRow = {
  id: ArrayBuffer;
  secret: ArrayBuffer;
  created_at: number;
  last_activity: number;
  expires_at: number;
  blocked_at: number | null;
  release_at: number | null;
  lease: number | null;
  free_slot: number | null;
};

const COLUMNS = "id, secret, created_at, last_activity, expires_at, blocked_at, release_at, lease, free_slot";

/**
 * Every query a pool makes, over the object's synchronous SQLite API. Each one is a point lookup or
 * a bounded range scan on an index, so no operation grows with the pool. Free keys are kept in a
 * dense array of slots (swap-remove on leaving), which makes a uniform random pick one index probe.
 */
export class KeyStore {
  /** Rows SQLite read and wrote for this object since it started: the complexity tests read these. */
  rowsRead = 0;
  rowsWritten = 0;

  constructor(private readonly sql: SqlStorage) {}

  ensureSchema(): void {
    for (const statement of SCHEMA) this.run(statement);
    const [meta] = this.run<{ schema_version: number }>("SELECT schema_version FROM pool_meta WHERE id = 1");
    if (meta === undefined || meta.schema_version > SCHEMA_VERSION) {
      throw new Error(`storage has schema version ${meta?.schema_version}, this code knows ${SCHEMA_VERSION}`);
    }
  }

  get(keyId: string): StoredKey | null {
    const [row] = this.run<KeyRow>(`SELECT ${COLUMNS} FROM keys WHERE id = ?`, uuidToBytes(keyId));
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
    this.run(
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
    this.run(
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
    if (wasFree && !isFree) this.releaseFreeSlot(stored.freeSlot);
  }

  /**
   * Deletes a key. Its free slot is read back from the row itself, not from the caller's copy: in a
   * batch, deleting one free key moves another into its slot, so copies read before are stale.
   */
  delete(keyId: string): void {
    const [row] = this.run<{ free_slot: number | null }>(
      "DELETE FROM keys WHERE id = ? RETURNING free_slot",
      uuidToBytes(keyId),
    );
    if (row !== undefined && row.free_slot !== null) this.releaseFreeSlot(row.free_slot);
  }

  freeCount(): number {
    return this.meta().free_count;
  }

  /** The free key in slot `slot`, 0 <= slot < freeCount(). */
  freeKeyAt(slot: number): StoredKey | null {
    const [row] = this.run<KeyRow>(`SELECT ${COLUMNS} FROM keys WHERE free_slot = ?`, slot);
    return row === undefined ? null : fromRow(row);
  }

  /**
   * The live key latest to expire that is free or whose block is due, or null if there is none. For
   * an assignment whose random draws keep hitting expired keys during a mass expiry: walking the
   * expiry index down from the top visits no expired key at all, only live keys still held.
   */
  latestAvailable(now: number): StoredKey | null {
    const [row] = this.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys INDEXED BY keys_by_expiry
       WHERE expires_at > ? AND (free_slot IS NOT NULL OR release_at <= ?) ORDER BY expires_at DESC LIMIT 1`,
      now,
      now,
    );
    return row === undefined ? null : fromRow(row);
  }

  /** The next fencing number: grows with every block in the pool, never reused. */
  nextLease(): number {
    const [row] = this.run<{ lease_seq: number }>(
      "UPDATE pool_meta SET lease_seq = lease_seq + 1 WHERE id = 1 RETURNING lease_seq",
    );
    return (row as { lease_seq: number }).lease_seq;
  }

  /** Up to `limit` keys whose expiry is at or before `now`, earliest first. */
  dueExpiries(now: number, limit: number): StoredKey[] {
    return this.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`,
      now,
      limit,
    ).map(fromRow);
  }

  /** Up to `limit` blocked keys whose release is at or before `now`, earliest first. */
  dueReleases(now: number, limit: number): StoredKey[] {
    return this.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys WHERE release_at <= ? ORDER BY release_at LIMIT ?`,
      now,
      limit,
    ).map(fromRow);
  }

  /** How many blocked keys have a release at or before `now`: O(that many) on the release index. */
  countDueReleases(now: number): number {
    const [row] = this.run<{ n: number }>("SELECT count(*) AS n FROM keys WHERE release_at <= ?", now);
    return row?.n ?? 0;
  }

  /** The `offset`-th (0-based, earliest first) blocked key whose release is at or before `now`. */
  dueReleaseAt(now: number, offset: number): StoredKey | null {
    const [row] = this.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys WHERE release_at <= ? ORDER BY release_at LIMIT 1 OFFSET ?`,
      now,
      offset,
    );
    return row === undefined ? null : fromRow(row);
  }

  /** The earliest pending deadline of any key (expiry or release), or null for an empty pool. */
  earliestDeadline(): number | null {
    const [expiry] = this.run<{ at: number | null }>("SELECT min(expires_at) AS at FROM keys");
    const [release] = this.run<{ at: number | null }>(
      "SELECT min(release_at) AS at FROM keys WHERE release_at IS NOT NULL",
    );
    const times = [expiry?.at, release?.at].filter((t): t is number => typeof t === "number");
    return times.length === 0 ? null : Math.min(...times);
  }

  private meta(): { free_count: number } {
    const [row] = this.run<{ free_count: number }>("SELECT free_count FROM pool_meta WHERE id = 1");
    return row as { free_count: number };
  }

  /** Appends a slot to the free array and returns its index. */
  private claimFreeSlot(): number {
    return this.claimFreeSlots(1);
  }

  /** Appends `count` slots to the free array and returns the index of the first. */
  private claimFreeSlots(count: number): number {
    const [row] = this.run<{ first: number }>(
      "UPDATE pool_meta SET free_count = free_count + ? WHERE id = 1 RETURNING free_count - ? AS first",
      count,
      count,
    );
    return (row as { first: number }).first;
  }

  /** Removes `slot` from the free array by moving the last free key into it. */
  private releaseFreeSlot(slot: number): void {
    const [row] = this.run<{ last: number }>(
      "UPDATE pool_meta SET free_count = free_count - 1 WHERE id = 1 RETURNING free_count AS last",
    );
    const last = (row as { last: number }).last;
    if (slot !== last) this.run("UPDATE keys SET free_slot = ? WHERE free_slot = ?", slot, last);
  }

  private run<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.rowsRead += cursor.rowsRead;
    this.rowsWritten += cursor.rowsWritten;
    return rows;
  }
}

/** A UUID as the 32 hex digits SQLite's `unhex` turns into its 16 stored bytes. */
function hex(uuid: string): string {
  return uuid.replaceAll("-", "");
}

function fromRow(row: KeyRow): StoredKey {
  const block =
    row.blocked_at === null || row.release_at === null || row.lease === null
      ? null
      : { blockedAt: row.blocked_at, releaseAt: row.release_at, lease: row.lease };
  return {
    record: {
      keyId: bytesToUuid(row.id),
      key: bytesToUuid(row.secret),
      createdAt: row.created_at,
      lastActivity: row.last_activity,
      expiresAt: row.expires_at,
      block,
    },
    freeSlot: row.free_slot,
  };
}
