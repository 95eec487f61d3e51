import { type Counter, KEY_COUNTED, type KeyCounted } from "../pool/events";
import { type KeyRecord, type KeyStateName, type StoredSecret, stateOf } from "../pool/rules";
import { KEY_COLUMNS as COLUMNS, type KeyRow, NO_EXPIRY, recordOf, storedExpiry } from "./key-rows";
import { KeySummary } from "./key-summary";
import { type Departure, noKeyCounts, PoolStatsStore } from "./pool-stats";
import type { CountedSql } from "./sql";
import { bytesToUuid, hexOf, uuidHex, uuidToBytes } from "./uuid";

/**
 * What a change of a key counts, on the key's own row: `assigned` (by `GET /keys`), `released` (its
 * block ran out), `cooled`, `disabled`, and a report by its outcome.
 */
export type KeyEvents = Partial<Record<KeyCounted, boolean>>;

/** What `GET /pools/{pool}` counts. A deadline due but not yet applied counts as not passed. */
export interface KeyCounts {
  readonly total: number;
  readonly free: number;
  readonly cooling: number;
  readonly disabled: number;
  readonly counters: Readonly<Record<Counter, number>>;
}

/**
 * How a key stands in storage, for the counts kept in memory: `rules.stateOf` of the stored record (a
 * deadline passed is not applied).
 */
type StoredState = KeyStateName;

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
   * statements; bound parameters are also capped per statement). An imported key comes with the keyed
   * fingerprint of its value, at the same index of `fingerprints`.
   */
  insert(records: readonly KeyRecord[], fingerprints: readonly (Uint8Array | null)[] = []): void {
    if (records.length === 0) return;
    const rows = records.map((r, i) => [
      uuidHex(r.keyId),
      hexOf(r.secret.bytes),
      r.secret.sealedBy,
      fingerprints[i] ? hexOf(fingerprints[i]) : null,
      r.label,
      r.hint,
      r.createdAt,
      r.lastActivity,
      storedExpiry(r.expiresAt),
    ]);
    this.db.run(
      `INSERT INTO keys (id, secret, sealed_by, fingerprint, label, hint, created_at, last_activity, expires_at)
       SELECT unhex(value ->> 0), unhex(value ->> 1), value ->> 2, unhex(value ->> 3), value ->> 4, value ->> 5,
              value ->> 6, value ->> 7, value ->> 8
       FROM json_each(?)`,
      JSON.stringify(rows),
    );
    this.#stats.created(records.length);
    const summary = this.#summary;
    if (summary === null) return;
    records.forEach((record, i) => {
      const id = new Uint8Array(uuidToBytes(record.keyId));
      summary.free.add(id);
      const fingerprint = fingerprints[i];
      if (fingerprint) summary.imported.add(fingerprint, id);
      summary.countSealed(record.secret.sealedBy, 1);
    });
  }

  /**
   * The key already holding a value with this keyed fingerprint, or null: one probe of the in-memory
   * index of imported values (built with the free keys, when the object first needs them).
   */
  withFingerprint(fingerprint: Uint8Array): string | null {
    const id = this.#loaded().imported.payloadOf(fingerprint);
    return id === null ? null : bytesToUuid(id);
  }

  /** Sets a key's label (null: none); one row, no index. */
  setLabel(keyId: string, label: string | null): void {
    this.db.run("UPDATE keys SET label = ? WHERE id = ?", label, uuidToBytes(keyId));
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
      values.push(next.lastActivity, storedExpiry(next.expiresAt));
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
    const changed = <K extends keyof KeyRecord>(field: K, column: string) => {
      if (next[field] === stored[field]) return;
      sets.push(`${column} = ?`);
      values.push(next[field]);
    };
    changed("coolingUntil", "cooling_until");
    changed("disabledAt", "disabled_at");
    changed("failures", "failures");
    changed("lastOutcome", "last_outcome");
    changed("lastReportAt", "last_report_at");
    const counted = (Object.keys(events) as KeyCounted[]).filter((name) => events[name]);
    // Each column named is one of this code's literals (KEY_COUNTED), never input.
    for (const name of counted) sets.push(`${KEY_COUNTED[name]} = ${KEY_COUNTED[name]} + 1`);
    if (sets.length === 0) return;
    const id = uuidToBytes(next.keyId);
    this.db.run(`UPDATE keys SET ${sets.join(", ")} WHERE id = ?`, ...values, id);

    const summary = this.#summary;
    if (summary === null) return;
    this.#moved(summary, new Uint8Array(id), stateOf(stored), stateOf(next));
    for (const name of counted) summary.counted[name]++;
  }

  /** Deletes a key, counting why; false when there was no such key. */
  delete(keyId: string, why: Departure): boolean {
    const rows = this.db.run<DepartedRow>(
      `DELETE FROM keys WHERE id = ? RETURNING ${DEPARTED_COLUMNS}`,
      uuidToBytes(keyId),
    );
    this.#departed(rows, why);
    return rows.length > 0;
  }

  /** Which kinds of deadline are due at `now`: three index probes, so callers run only the work there is. */
  due(now: number): { expiries: boolean; releases: boolean; cooldowns: boolean } {
    const [row] = this.db.run<{ expiries: number; releases: number; cooldowns: number }>(
      `SELECT EXISTS (SELECT 1 FROM keys WHERE expires_at <= ?1) AS expiries,
              EXISTS (SELECT 1 FROM keys WHERE release_at <= ?1) AS releases,
              EXISTS (SELECT 1 FROM keys WHERE cooling_until <= ?1) AS cooldowns`,
      now,
    );
    return { expiries: row?.expiries === 1, releases: row?.releases === 1, cooldowns: row?.cooldowns === 1 };
  }

  /**
   * Deletes up to `limit` keys whose expiry is at or before `now`, earliest first, and returns their
   * ids: two statements however many keys go (one per key made an alarm run of 500 expiries cost
   * ~50 ms of CPU).
   */
  deleteExpired(now: number, limit: number): string[] {
    const rows = this.db.run<DepartedRow>(
      `DELETE FROM keys WHERE id IN (SELECT id FROM keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
       RETURNING ${DEPARTED_COLUMNS}`,
      now,
      limit,
    );
    this.#departed(rows, "expired");
    return rows.map((row) => bytesToUuid(row.id));
  }

  /**
   * Ends up to `limit` blocks whose release is at or before `now`, earliest first, and returns the keys'
   * ids with the leases of the blocks that ended; with a lock-delay, a key cools down until its
   * release + `lockDelayMs` (if that is still ahead).
   */
  releaseDue(now: number, limit: number, lockDelayMs = 0): Released[] {
    const rows = this.db.run<{ id: ArrayBuffer; cooling_until: number | null; lease: number | null }>(
      `UPDATE keys SET blocked_at = NULL, release_at = NULL, holder = NULL, releases = releases + 1,
         cooling_until = CASE WHEN release_at + ?3 > ?1 THEN release_at + ?3 END
       WHERE id IN (SELECT id FROM keys WHERE release_at <= ?1 ORDER BY release_at LIMIT ?2)
       RETURNING id, cooling_until, lease`,
      now,
      limit,
      lockDelayMs,
    );
    const summary = this.#summary;
    if (summary !== null) {
      for (const row of rows) {
        this.#moved(summary, new Uint8Array(row.id), "blocked", row.cooling_until === null ? "free" : "cooling");
      }
      summary.counted.released += rows.length;
    }
    return rows.map((row) => ({ keyId: bytesToUuid(row.id), lease: row.lease, coolingUntil: row.cooling_until }));
  }

  /** Ends up to `limit` cooldowns that are over at `now`, earliest first; returns the keys' ids. */
  endCooldowns(now: number, limit: number): string[] {
    const rows = this.db.run<{ id: ArrayBuffer; disabled_at: number | null }>(
      `UPDATE keys SET cooling_until = NULL
       WHERE id IN (SELECT id FROM keys WHERE cooling_until <= ? ORDER BY cooling_until LIMIT ?)
       RETURNING id, disabled_at`,
      now,
      limit,
    );
    const summary = this.#summary;
    if (summary !== null) {
      for (const row of rows) {
        if (row.disabled_at === null) this.#moved(summary, new Uint8Array(row.id), "cooling", "free");
      }
    }
    return rows.map((row) => bytesToUuid(row.id));
  }

  /**
   * Writes up to `limit` due deadlines, expiries first, each kind in one set-based statement, so its
   * cost is bounded by `limit` keys however many are due; says which keys it expired and released,
   * and which kinds may have more due. Safe to repeat: a retried alarm finds nothing left to do.
   * Without `expiries` (a pool whose keys do not expire) it ends blocks only.
   */
  applyDue(now: number, limit: number, expiries = true, lockDelayMs = 0): DueApplied {
    const due = this.due(now);
    const expired = expiries && due.expiries ? this.deleteExpired(now, limit) : [];
    const releaseLimit = limit - expired.length;
    const released = due.releases && releaseLimit > 0 ? this.releaseDue(now, releaseLimit, lockDelayMs) : [];
    const coolLimit = releaseLimit - released.length;
    const cooled = due.cooldowns && coolLimit > 0 ? this.endCooldowns(now, coolLimit) : [];
    return {
      expired,
      released,
      cooled,
      expiriesLeft: expiries && expired.length === limit,
      releasesLeft: due.releases && released.length === releaseLimit,
      cooldownsLeft: due.cooldowns && cooled.length === coolLimit,
    };
  }

  /**
   * A key drawn uniformly among the free ones, or null if none is. With `overdue`, free includes keys
   * whose block is due but not yet ended (more than one settle batch, when the alarm is late): they
   * are counted and drawn on the release index instead of being released all in one request. Expired
   * keys may be drawn too; the caller drops them and draws again, which keeps the draw uniform.
   */
  drawFree(now: number, overdue: boolean, uniformIndex: (n: number) => number, lockDelayMs = 0): KeyRecord | null {
    const free = this.#loaded().free;
    // A block that ran out is free once its lock-delay is over too.
    const due = overdue ? this.countDueReleases(now - lockDelayMs) : 0;
    if (free.size + due === 0) return null;
    const index = uniformIndex(free.size + due);
    const drawn =
      index < free.size
        ? this.#read(free.at(index).buffer as ArrayBuffer)
        : this.dueReleaseAt(now - lockDelayMs, index - free.size);
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
  latestAvailable(now: number, lockDelayMs = 0): KeyRecord | null {
    const [row] = this.db.run<KeyRow>(
      `SELECT ${COLUMNS} FROM keys INDEXED BY keys_by_expiry
       WHERE expires_at > ?1 AND (release_at IS NULL OR release_at <= ?2)
         AND (cooling_until IS NULL OR cooling_until <= ?1) AND disabled_at IS NULL
       ORDER BY expires_at DESC LIMIT 1`,
      now,
      now - lockDelayMs,
    );
    return row === undefined ? null : recordOf(row);
  }

  /**
   * When a key not handed out now may be free next: the earliest release of a block and the earliest
   * end of a cooldown (a disabled key has neither). Two index probes.
   */
  nextFree(): { release: number | null; cooldown: number | null } {
    const [row] = this.db.run<{ release: number | null; cooldown: number | null }>(
      `SELECT (SELECT min(release_at) FROM keys WHERE release_at IS NOT NULL) AS release,
              (SELECT min(cooling_until) FROM keys WHERE cooling_until IS NOT NULL) AS cooldown`,
    );
    return { release: row?.release ?? null, cooldown: row?.cooldown ?? null };
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

  /**
   * Writes the expiry of up to `limit` keys that have none (`at`), or, with `at` null, removes up to
   * `limit` keys' expiries: what switching a pool's `keysExpire` on or off does, a batch at a time. One
   * statement on the expiry index; answers how many keys it changed.
   */
  writeExpiries(at: number | null, limit: number): number {
    const rows =
      at === null
        ? this.db.run(
            `UPDATE keys SET expires_at = ?1
             WHERE id IN (SELECT id FROM keys WHERE expires_at < ?1 LIMIT ?2) RETURNING 1`,
            NO_EXPIRY,
            limit,
          )
        : this.db.run(
            `UPDATE keys SET expires_at = ?1
             WHERE id IN (SELECT id FROM keys WHERE expires_at = ?2 LIMIT ?3) RETURNING 1`,
            at,
            NO_EXPIRY,
            limit,
          );
    return rows.length;
  }

  /** Whether some key's stored expiry disagrees with `keysExpire`: one index probe. */
  expiriesToWrite(keysExpire: boolean): boolean {
    const [row] = this.db.run<{ found: number }>(
      keysExpire
        ? "SELECT EXISTS (SELECT 1 FROM keys WHERE expires_at = ?) AS found"
        : "SELECT EXISTS (SELECT 1 FROM keys WHERE expires_at < ?) AS found",
      NO_EXPIRY,
    );
    return row?.found === 1;
  }

  /** Up to `limit` keys after `afterId` (from the first when null), in id order, with their stored values. */
  valuesAfter(afterId: string | null, limit: number): SealedRow[] {
    const rows = this.db.run<{
      id: ArrayBuffer;
      fingerprint: ArrayBuffer | null;
      secret: ArrayBuffer;
      sealed_by: string | null;
    }>(
      "SELECT id, fingerprint, secret, sealed_by FROM keys WHERE id > ? ORDER BY id LIMIT ?",
      afterId === null ? new ArrayBuffer(0) : uuidToBytes(afterId),
      limit,
    );
    return rows.map((row) => ({
      keyId: bytesToUuid(row.id),
      fingerprint: row.fingerprint === null ? null : new Uint8Array(row.fingerprint),
      secret: { bytes: new Uint8Array(row.secret), sealedBy: row.sealed_by },
    }));
  }

  /**
   * Stores values sealed anew, each only if its key still holds the value it was sealed from (it may
   * have been deleted meanwhile): one row written per value, and, for an imported key, its fingerprint
   * under the new key. Answers how many were stored.
   */
  resealed(values: readonly Resealed[]): number {
    let stored = 0;
    for (const { keyId, from, secret, fingerprint, oldFingerprint } of values) {
      const [row] = this.db.run(
        `UPDATE keys SET secret = ?, sealed_by = ?, fingerprint = coalesce(?, fingerprint)
         WHERE id = ? AND sealed_by IS ? RETURNING 1`,
        copy(secret.bytes),
        secret.sealedBy,
        fingerprint === null ? null : copy(fingerprint),
        uuidToBytes(keyId),
        from,
      );
      if (row === undefined) continue;
      stored++;
      const summary = this.#summary;
      if (summary === null) continue;
      summary.countSealed(from, -1);
      summary.countSealed(secret.sealedBy, 1);
      if (oldFingerprint !== null && fingerprint !== null) {
        summary.imported.delete(oldFingerprint);
        summary.imported.add(fingerprint, new Uint8Array(uuidToBytes(keyId)));
      }
    }
    return stored;
  }

  /** How many values each encryption key sealed (`null`: stored as they are), from the in-memory summary. */
  sealedCounts(): ReadonlyMap<string | null, number> {
    return this.#loaded().sealed;
  }

  /** The earliest pending deadline of any key (expiry, release, end of a cooldown), or null for none. */
  earliestDeadline(): number | null {
    const [row] = this.db.run<{ expiry: number | null; release: number | null; cooldown: number | null }>(
      `SELECT (SELECT min(expires_at) FROM keys WHERE expires_at < ?) AS expiry,
              (SELECT min(release_at) FROM keys WHERE release_at IS NOT NULL) AS release,
              (SELECT min(cooling_until) FROM keys WHERE cooling_until IS NOT NULL) AS cooldown`,
      NO_EXPIRY,
    );
    const times = [row?.expiry, row?.release, row?.cooldown].filter((t): t is number => typeof t === "number");
    return times.length === 0 ? null : Math.min(...times);
  }

  /** The pool's counts and counters: one row, plus the sums kept in memory. */
  counts(): KeyCounts {
    const summary = this.#loaded();
    const { total, counters } = this.#stats.read();
    const sums = { ...counters };
    for (const name of Object.keys(KEY_COUNTED) as KeyCounted[]) sums[name] += summary.counted[name];
    return { total, free: summary.free.size, cooling: summary.cooling, disabled: summary.disabled, counters: sums };
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
    const counted = noKeyCounts();
    const names = Object.keys(KEY_COUNTED) as KeyCounted[];
    let lease = 0;
    for (const row of rows) {
      for (const name of names) counted[name] += row[KEY_COUNTED[name]];
      lease = Math.max(lease, row.lease ?? 0);
    }
    this.#stats.departed(why, rows.length, counted, lease);
    const summary = this.#summary;
    if (summary === null) return;
    for (const row of rows) {
      // As `stateOf` ranks a record's state, from the row's columns.
      const state =
        row.disabled_at !== null
          ? "disabled"
          : row.release_at !== null
            ? "blocked"
            : row.cooling_until !== null
              ? "cooling"
              : "free";
      this.#moved(summary, new Uint8Array(row.id), state, null);
      if (row.fingerprint !== null) summary.imported.delete(new Uint8Array(row.fingerprint));
      summary.countSealed(row.sealed_by, -1);
    }
    for (const name of names) summary.counted[name] -= counted[name];
  }

  /** A key moved from one stored state to another (null: it left): the counts in memory follow. */
  #moved(summary: KeySummary, id: Uint8Array, from: StoredState, to: StoredState | null): void {
    if (from === to) return;
    if (from === "free") summary.free.delete(id);
    if (from === "cooling") summary.cooling--;
    if (from === "disabled") summary.disabled--;
    if (to === "free") summary.free.add(id);
    if (to === "cooling") summary.cooling++;
    if (to === "disabled") summary.disabled++;
  }

  /** The summary, built with one scan of `keys` if this object has none yet. */
  #loaded(): KeySummary {
    this.#summary ??= KeySummary.scan(this.db, this.#stats.read().leaseFloor);
    return this.#summary;
  }
}

/** What one `applyDue` did. */
/** A block the pool ended because its time was up: its key, its lease, and the lock-delay's cooldown, if any. */
export interface Released {
  readonly keyId: string;
  readonly lease: number | null;
  readonly coolingUntil: number | null;
}

export interface DueApplied {
  readonly expired: string[];
  readonly released: Released[];
  /** Keys whose cooldown ended. */
  readonly cooled: string[];
  readonly expiriesLeft: boolean;
  readonly releasesLeft: boolean;
  readonly cooldownsLeft: boolean;
}

const DEPARTED_COLUMNS = `id, release_at, cooling_until, disabled_at, lease, sealed_by, fingerprint, ${Object.values(
  KEY_COUNTED,
).join(", ")}`;

type DepartedRow = {
  id: ArrayBuffer;
  release_at: number | null;
  cooling_until: number | null;
  disabled_at: number | null;
  lease: number | null;
  sealed_by: string | null;
  fingerprint: ArrayBuffer | null;
} & Record<(typeof KEY_COUNTED)[KeyCounted], number>;

/** A key's stored value, as a sealing pass reads it: with its fingerprint, if imported. */
export interface SealedRow {
  readonly keyId: string;
  readonly fingerprint: Uint8Array | null;
  readonly secret: StoredSecret;
}

/**
 * A value sealed anew: from the key `from` (null: stored as it was), with an imported value's new
 * fingerprint in place of its old one.
 */
export interface Resealed {
  readonly keyId: string;
  readonly from: string | null;
  readonly secret: StoredSecret;
  readonly fingerprint: Uint8Array | null;
  readonly oldFingerprint: Uint8Array | null;
}

/** The bytes of a view, as SQLite binds a BLOB. */
function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}
