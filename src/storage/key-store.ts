import type { Counter } from "../pool/events";
import type { KeyRecord } from "../pool/rules";
import { KEY_COLUMNS as COLUMNS, type KeyRow, recordOf } from "./key-rows";
import { KeySummary } from "./key-summary";
import { type Departure, PoolStatsStore } from "./pool-stats";
import type { CountedSql } from "./sql";
import { bytesToUuid, uuidToBytes } from "./uuid";

/** What a change of a key counts, on the key's own row. */
export interface KeyEvents {
  /** An assignment (`GET /keys`) blocked it. */
  readonly assigned?: boolean;
  /** A block of it ran out (the holder never released it). */
  readonly released?: boolean;
}

/** What `GET /pools/{pool}` counts. */
export interface KeyCounts {
  readonly total: number;
  /** Keys with no block stored (a block that is due but not yet ended counts as held). */
  readonly free: number;
  readonly counters: Readonly<Record<Counter, number>>;
}

/**
 * Every query on a pool's keys, over the object's synchronous SQLite API. Each one is a point lookup
 * or a bounded range scan on an index, so no operation grows with the pool; the one scan of the whole
 * table rebuilds the in-memory summary, once per start of the object.
 *
 * A change of a key writes its row (and the index entries of the columns it changes) and nothing
 * else: what pool-wide counters would need (assignments, automatic releases, the lease sequence) is
 * kept on the key's own row and summed in memory, and folded into `pool_stats` in the same statement
 * set that deletes the key.
 */
export class KeyStore {
  #summary: KeySummary | null = null;
  readonly #stats: PoolStatsStore;

  constructor(private readonly db: CountedSql) {
    this.#stats = new PoolStatsStore(db);
  }

  get(keyId: string): KeyRecord | null {
    return this.#read(uuidToBytes(keyId));
  }

  /**
   * Inserts new, free keys in two statements however many there are: the rows travel as one JSON
   * array that SQLite expands itself (one statement per key made a 1000-key create cost ~2,000
   * statements; bound parameters are also capped per statement).
   */
  insert(records: readonly KeyRecord[]): void {
    if (records.length === 0) return;
    const rows = records.map((r) => [hex(r.keyId), hex(r.key), r.createdAt, r.lastActivity, r.expiresAt]);
    this.db.run(
      `INSERT INTO keys (id, secret, created_at, last_activity, expires_at)
       SELECT unhex(value ->> 0), unhex(value ->> 1), value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)`,
      JSON.stringify(rows),
    );
    this.#stats.created(records.length);
    const summary = this.#summary;
    if (summary !== null) for (const record of records) summary.free.add(new Uint8Array(uuidToBytes(record.keyId)));
  }

  /**
   * Writes `next` over `stored` (the row as read in this transaction), setting only the columns that
   * changed, so SQLite rewrites only their index entries; `events` are counted on the row. A lease is
   * kept after its block ends: it is how the lease sequence is found again after a restart.
   */
  save(stored: KeyRecord, next: KeyRecord, events: KeyEvents = {}): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    if (next.lastActivity !== stored.lastActivity || next.expiresAt !== stored.expiresAt) {
      sets.push("last_activity = ?", "expires_at = ?");
      values.push(next.lastActivity, next.expiresAt);
    }
    const block = next.block;
    if (block?.blockedAt !== stored.block?.blockedAt || block?.releaseAt !== stored.block?.releaseAt) {
      sets.push("blocked_at = ?", "release_at = ?");
      values.push(block?.blockedAt ?? null, block?.releaseAt ?? null);
    }
    if (block !== null && block.lease !== stored.block?.lease) {
      sets.push("lease = ?", "holder = ?");
      values.push(block.lease, block.holder === null ? null : copy(block.holder));
    }
    if (block === null && stored.block?.holder) sets.push("holder = NULL");
    if (events.assigned) sets.push("assignments = assignments + 1");
    if (events.released) sets.push("releases = releases + 1");
    if (sets.length === 0) return;
    const id = uuidToBytes(next.keyId);
    this.db.run(`UPDATE keys SET ${sets.join(", ")} WHERE id = ?`, ...values, id);

    const summary = this.#summary;
    if (summary === null) return;
    if (stored.block === null && block !== null) summary.free.delete(new Uint8Array(id));
    if (stored.block !== null && block === null) summary.free.add(new Uint8Array(id));
    if (events.assigned) summary.assignments++;
    if (events.released) summary.releases++;
  }

  /** Deletes a key, counting why; false when there was no such key. */
  delete(keyId: string, why: Departure): boolean {
    const rows = this.db.run<DepartedRow>(
      "DELETE FROM keys WHERE id = ? RETURNING id, release_at, lease, assignments, releases",
      uuidToBytes(keyId),
    );
    this.#departed(rows, why);
    return rows.length > 0;
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
   * ids: two statements however many keys go (one per key made an alarm run of 500 expiries cost
   * ~50 ms of CPU).
   */
  deleteExpired(now: number, limit: number): string[] {
    const rows = this.db.run<DepartedRow>(
      `DELETE FROM keys WHERE id IN (SELECT id FROM keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
       RETURNING id, release_at, lease, assignments, releases`,
      now,
      limit,
    );
    this.#departed(rows, "expired");
    return rows.map((row) => bytesToUuid(row.id));
  }

  /** Ends up to `limit` blocks whose release is at or before `now`, earliest first; returns the keys' ids. */
  releaseDue(now: number, limit: number): string[] {
    const rows = this.db.run<{ id: ArrayBuffer }>(
      `UPDATE keys SET blocked_at = NULL, release_at = NULL, holder = NULL, releases = releases + 1
       WHERE id IN (SELECT id FROM keys WHERE release_at <= ? ORDER BY release_at LIMIT ?)
       RETURNING id`,
      now,
      limit,
    );
    const summary = this.#summary;
    if (summary !== null) {
      for (const row of rows) summary.free.add(new Uint8Array(row.id));
      summary.releases += rows.length;
    }
    return rows.map((row) => bytesToUuid(row.id));
  }

  /**
   * Writes up to `limit` due deadlines, expiries first, each kind in one set-based statement, so its
   * cost is bounded by `limit` keys however many are due; says which keys it expired and released,
   * and which kinds may have more due. Safe to repeat: a retried alarm finds nothing left to do.
   */
  applyDue(now: number, limit: number): DueApplied {
    const due = this.due(now);
    const expired = due.expiries ? this.deleteExpired(now, limit) : [];
    const releaseLimit = limit - expired.length;
    const released = due.releases && releaseLimit > 0 ? this.releaseDue(now, releaseLimit) : [];
    return {
      expired,
      released,
      expiriesLeft: expired.length === limit,
      releasesLeft: due.releases && released.length === releaseLimit,
    };
  }

  /**
   * A key drawn uniformly among the free ones, or null if none is. With `overdue`, free includes keys
   * whose block is due but not yet ended (more than one settle batch, when the alarm is late): they
   * are counted and drawn on the release index instead of being released all in one request. Expired
   * keys may be drawn too; the caller drops them and draws again, which keeps the draw uniform.
   */
  drawFree(now: number, overdue: boolean, uniformIndex: (n: number) => number): KeyRecord | null {
    const free = this.#loaded().free;
    const due = overdue ? this.countDueReleases(now) : 0;
    if (free.size + due === 0) return null;
    const index = uniformIndex(free.size + due);
    const drawn =
      index < free.size ? this.#read(free.at(index).buffer as ArrayBuffer) : this.dueReleaseAt(now, index - free.size);
    if (drawn === null) throw new Error(`free keys are inconsistent: nothing at draw ${index} of ${free.size}+${due}`);
    return drawn;
  }

  freeCount(): number {
    return this.#loaded().free.size;
  }

  /** The free key at `position` of the in-memory free set, 0 <= position < freeCount(). */
  freeKeyAt(position: number): KeyRecord | null {
    return this.#read(this.#loaded().free.at(position).buffer as ArrayBuffer);
  }

  /**
   * The live key latest to expire that is free or whose block is due, or null if there is none. For
   * an assignment whose random draws keep hitting expired keys during a mass expiry: walking the
   * expiry index down from the top visits no expired key at all, only live keys still held.
   */
  latestAvailable(now: number): KeyRecord | null {
    const [row] = this.db.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys INDEXED BY keys_by_expiry
       WHERE expires_at > ? AND (release_at IS NULL OR release_at <= ?) ORDER BY expires_at DESC LIMIT 1`,
      now,
      now,
    );
    return row === undefined ? null : recordOf(row);
  }

  /** The next fencing number: grows with every block in the pool and is never handed out twice. */
  nextLease(): number {
    return ++this.#loaded().lease;
  }

  /** How many blocked keys have a release at or before `now`: O(that many) on the release index. */
  countDueReleases(now: number): number {
    const [row] = this.db.run<{ n: number }>("SELECT count(*) AS n FROM keys WHERE release_at <= ?", now);
    return row?.n ?? 0;
  }

  /** The `offset`-th (0-based, earliest first) blocked key whose release is at or before `now`. */
  dueReleaseAt(now: number, offset: number): KeyRecord | null {
    const [row] = this.db.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys WHERE release_at <= ? ORDER BY release_at LIMIT 1 OFFSET ?`,
      now,
      offset,
    );
    return row === undefined ? null : recordOf(row);
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

  /** The pool's counts and counters: one row, plus the sums kept in memory. */
  counts(): KeyCounts {
    const summary = this.#loaded();
    const { total, counters } = this.#stats.read();
    const assigned = counters.assigned + summary.assignments;
    return {
      total,
      free: summary.free.size,
      counters: { ...counters, assigned, released: counters.released + summary.releases },
    };
  }

  /** Drops what is kept in memory: after a failed transaction it may say what SQLite rolled back. */
  forget(): void {
    this.#summary = null;
  }

  #read(id: ArrayBuffer): KeyRecord | null {
    const [row] = this.db.run<KeyRow>(`SELECT ${COLUMNS} FROM keys WHERE id = ?`, id);
    return row === undefined ? null : recordOf(row);
  }

  /** Counts keys that left in `pool_stats`, with what their rows counted, in one statement. */
  #departed(rows: readonly DepartedRow[], why: Departure): void {
    if (rows.length === 0) return;
    const counted = { assignments: 0, releases: 0, lease: 0 };
    for (const row of rows) {
      counted.assignments += row.assignments;
      counted.releases += row.releases;
      counted.lease = Math.max(counted.lease, row.lease ?? 0);
    }
    this.#stats.departed(why, rows.length, counted);
    const summary = this.#summary;
    if (summary === null) return;
    for (const row of rows) if (row.release_at === null) summary.free.delete(new Uint8Array(row.id));
    summary.assignments -= counted.assignments;
    summary.releases -= counted.releases;
  }

  /** The summary, built with one scan of `keys` if this object has none yet. */
  #loaded(): KeySummary {
    this.#summary ??= KeySummary.scan(this.db, this.#stats.read().leaseFloor);
    return this.#summary;
  }
}

/** What one `applyDue` did. */
export interface DueApplied {
  readonly expired: string[];
  readonly released: string[];
  readonly expiriesLeft: boolean;
  readonly releasesLeft: boolean;
}

type DepartedRow = {
  id: ArrayBuffer;
  release_at: number | null;
  lease: number | null;
  assignments: number;
  releases: number;
};

/** The bytes of a view, as SQLite binds a BLOB. */
function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

/** A UUID as the 32 hex digits SQLite's `unhex` turns into its 16 stored bytes. */
function hex(uuid: string): string {
  return uuid.replaceAll("-", "");
}
