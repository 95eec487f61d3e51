import type { AuditChange, AuditDetail, AuditEntry, AuditEvent, AuditFilter, AuditRole } from "../pool/audit";
import type { CountedSql } from "./sql";
import { bytesToUuid, uuidHex, uuidToBytes } from "./uuid";

type AuditRow = {
  at: number;
  seq: number;
  event: AuditEvent;
  key_id: ArrayBuffer | null;
  lease: number | null;
  outcome: string | null;
  role: AuditRole;
  actor: string | null;
  detail: string | null;
};

const COLUMNS = "at, seq, event, key_id, lease, outcome, role, actor, detail";

/** The most entries one `INSERT ... VALUES` takes: nine bindings each, and Durable Objects bind at most 100. */
const MAX_ROWS_BOUND = 11;
/** `INSERT_ROWS[n - 1]` writes n entries; the texts are made once, so the runtime's statement cache keeps each. */
const INSERT_ROWS = Array.from(
  { length: MAX_ROWS_BOUND },
  (_, i) =>
    `INSERT INTO audit (${COLUMNS}) VALUES ${Array(i + 1)
      .fill("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .join(", ")}`,
);

/**
 * The `audit` table: an append-only trail, keyed by `(at, seq)` so that a time range is a range of
 * the primary key, with one index (`audit_by_key`) for one key's history. Entries are appended in
 * order: an entry's time is never before the previous one's (if the clock steps back, the previous
 * time is used), so the trail in time order is the trail in sequence order.
 */
export class AuditStore {
  /** The newest entry's time and sequence number, read once and kept; null until read. */
  #last: { at: number; seq: number } | null = null;
  /** The entries of the transaction under way, not written yet. */
  #staged: AuditChange[] = [];

  constructor(private readonly db: CountedSql) {}

  /** Keeps `changes` for `flush` to write with the rest of the transaction's, in order. */
  stage(changes: readonly AuditChange[]): void {
    for (const change of changes) this.#staged.push(change);
  }

  /**
   * Writes what was staged, at `now`, in one statement; answers the time the entries were given, or
   * null when nothing was staged.
   */
  flush(now: number): number | null {
    const changes = this.#staged;
    if (changes.length === 0) return null;
    this.#staged = [];
    const last = this.#newest();
    const at = Math.max(now, last.at);
    if (changes.length <= MAX_ROWS_BOUND) {
      const bindings = changes.flatMap((change, i) => [at, last.seq + 1 + i, ...fieldsOf(change, uuidToBytes)]);
      this.db.run(INSERT_ROWS[changes.length - 1] as string, ...bindings);
    } else {
      // Too many for one statement's bindings: the entries go as one JSON array.
      const rows = changes.map((change, i) => [last.seq + 1 + i, ...fieldsOf(change, uuidHex)]);
      this.db.run(
        `INSERT INTO audit (${COLUMNS})
         SELECT ?, value ->> 0, value ->> 1, unhex(value ->> 2), value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                value ->> 7
         FROM json_each(?)`,
        at,
        JSON.stringify(rows),
      );
    }
    this.#last = { at, seq: last.seq + changes.length };
    return at;
  }

  /**
   * A page of entries, newest first: a range of the primary key (a time range), or of `audit_by_key`
   * for one key, starting after `filter.after`. Reads `limit` entries, plus one to tell if more follow.
   */
  page(filter: AuditFilter): { entries: AuditEntry[]; more: boolean } {
    const where: string[] = [];
    const bindings: unknown[] = [];
    if (filter.keyId !== undefined) {
      where.push("key_id = ?");
      bindings.push(uuidToBytes(filter.keyId));
    }
    if (filter.since !== undefined) {
      where.push("at >= ?");
      bindings.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push("at < ?");
      bindings.push(filter.until);
    }
    if (filter.after !== undefined) {
      where.push("(at, seq) < (?, ?)");
      bindings.push(filter.after.at, filter.after.seq);
    }
    const index = filter.keyId === undefined ? "" : "INDEXED BY audit_by_key";
    const rows = this.db.run<AuditRow>(
      `SELECT ${COLUMNS} FROM audit ${index} ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
       ORDER BY at DESC, seq DESC LIMIT ?`,
      ...bindings,
      filter.limit + 1,
    );
    return { entries: rows.slice(0, filter.limit).map(entryOf), more: rows.length > filter.limit };
  }

  /**
   * Deletes up to `limit` entries made at or before `cutoff`, oldest first, and answers how many went. The
   * largest sequence number deleted is kept in `pool_meta`, so numbering goes on above it even once
   * every entry has gone.
   */
  prune(cutoff: number, limit: number): number {
    const rows = this.db.run<{ seq: number }>(
      `DELETE FROM audit WHERE (at, seq) IN (SELECT at, seq FROM audit WHERE at <= ? ORDER BY at, seq LIMIT ?)
       RETURNING seq`,
      cutoff,
      limit,
    );
    if (rows.length > 0) {
      const largest = Math.max(...rows.map((row) => row.seq));
      this.db.run("UPDATE pool_meta SET audit_seq = max(audit_seq, ?) WHERE id = 1", largest);
    }
    return rows.length;
  }

  /** The oldest entry's time, or null for an empty trail: one probe of the primary key. */
  oldest(): number | null {
    const [row] = this.db.run<{ at: number }>("SELECT at FROM audit ORDER BY at, seq LIMIT 1");
    return row?.at ?? null;
  }

  /** Forgets what it read and drops what it staged (after a rolled-back transaction). */
  forget(): void {
    this.#last = null;
    this.#staged = [];
  }

  #newest(): { at: number; seq: number } {
    if (this.#last !== null) return this.#last;
    const [row] = this.db.run<{ at: number; seq: number }>(
      "SELECT at, seq FROM audit ORDER BY at DESC, seq DESC LIMIT 1",
    );
    // An empty trail (never written, or all of it pruned) goes on from the largest sequence number pruned.
    const [meta] = this.db.run<{ audit_seq: number }>("SELECT audit_seq FROM pool_meta WHERE id = 1");
    this.#last = row ?? { at: 0, seq: meta?.audit_seq ?? 0 };
    return this.#last;
  }
}

function entryOf(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    event: row.event,
    keyId: row.key_id === null ? null : bytesToUuid(row.key_id),
    lease: row.lease,
    outcome: row.outcome,
    actor: { role: row.role, token: row.actor },
    detail: row.detail === null ? null : (JSON.parse(row.detail) as AuditDetail),
  };
}

/** An entry's columns after its time and sequence number, its key id in the form `keyOf` gives. */
function fieldsOf(change: AuditChange, keyOf: (keyId: string) => unknown): unknown[] {
  return [
    change.event,
    change.keyId === null ? null : keyOf(change.keyId),
    change.lease,
    change.outcome,
    change.actor.role,
    change.actor.token,
    change.detail === null ? null : JSON.stringify(change.detail),
  ];
}
