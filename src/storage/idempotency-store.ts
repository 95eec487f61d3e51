import type { IdempotencyEntry } from "../pool/idempotency";
import type { CountedSql } from "./sql";

type EntryRow = { request_hash: ArrayBuffer; expires_at: number; outcome: string };

/**
 * The pool's `idempotency` table (see docs/storage-schema.md): point lookups by key digest and
 * bounded range scans on the expiry index, so no call grows with the number of entries.
 */
export class IdempotencyStore {
  constructor(private readonly db: CountedSql) {}

  /** The entry stored for this key digest, expired or not (the caller decides). */
  get(keyHash: Uint8Array): IdempotencyEntry | null {
    const [row] = this.db.run<EntryRow>(
      "SELECT request_hash, expires_at, outcome FROM idempotency WHERE key_hash = ?",
      blob(keyHash),
    );
    if (row === undefined) return null;
    return { requestHash: new Uint8Array(row.request_hash), expiresAt: row.expires_at, outcome: row.outcome };
  }

  /** Records an entry, replacing an expired one with the same key digest. */
  put(keyHash: Uint8Array, entry: IdempotencyEntry): void {
    this.db.run(
      "INSERT OR REPLACE INTO idempotency (key_hash, request_hash, expires_at, outcome) VALUES (?, ?, ?, ?)",
      blob(keyHash),
      blob(entry.requestHash),
      entry.expiresAt,
      entry.outcome,
    );
  }

  /** Deletes up to `limit` entries expired at `now`, oldest first; returns how many. */
  deleteDue(now: number, limit: number): number {
    const deleted = this.db.run(
      `DELETE FROM idempotency WHERE key_hash IN
         (SELECT key_hash FROM idempotency WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
       RETURNING 1 AS gone`,
      now,
      limit,
    );
    return deleted.length;
  }

  /** The earliest expiry of any entry, or null when there is none. */
  earliestExpiry(): number | null {
    const [row] = this.db.run<{ at: number | null }>("SELECT min(expires_at) AS at FROM idempotency");
    return row?.at ?? null;
  }
}

/** SQLite binds an ArrayBuffer as a BLOB; copy exactly the view's bytes. */
function blob(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}
