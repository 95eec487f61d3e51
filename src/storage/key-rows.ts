import type { ListedRow } from "../pool/listing";
import type { KeyRecord, ReportOutcome, StoredSecret } from "../pool/rules";
import { bytesToUuid } from "./uuid";

/**
 * The form of a key in the `keys` table (docs/storage-schema.md), read back as the pool's rules see
 * it. A block is stored as its two times, its lease and its holder's digest; `lease` alone stays
 * after the block ends.
 */

/**
 * The stored expiry of a key that never expires: `expires_at` is NOT NULL (version 1), so "none" is
 * the largest safe integer, beyond every deadline, and no range `expires_at <= now` ever reaches it.
 */
export const NO_EXPIRY = Number.MAX_SAFE_INTEGER;

/** A row of `keys` but its secret and its counts: a key's state, as a listing reads it. */
export type KeyColumns = {
  id: ArrayBuffer;
  created_at: number;
  last_activity: number;
  expires_at: number;
  blocked_at: number | null;
  release_at: number | null;
  lease: number | null;
  holder: ArrayBuffer | null;
  imported: number;
  label: string | null;
  hint: string | null;
  cooling_until: number | null;
  disabled_at: number | null;
  failures: number;
  last_outcome: ReportOutcome | null;
  last_report_at: number | null;
};

export type KeyRow = KeyColumns & { secret: ArrayBuffer; sealed_by: string | null };

export const STATE_COLUMNS =
  "id, created_at, last_activity, expires_at, blocked_at, release_at, lease, holder, " +
  "fingerprint IS NOT NULL AS imported, label, hint, cooling_until, disabled_at, failures, last_outcome, last_report_at";
export const KEY_COLUMNS = `${STATE_COLUMNS}, secret, sealed_by`;

/** A row read without its secret, as the pool's rules see a key's state. */
export function stateOf(row: KeyColumns): ListedRow {
  const block =
    row.blocked_at === null || row.release_at === null || row.lease === null
      ? null
      : {
          blockedAt: row.blocked_at,
          releaseAt: row.release_at,
          lease: row.lease,
          holder: row.holder === null ? null : new Uint8Array(row.holder),
        };
  return {
    keyId: bytesToUuid(row.id),
    source: row.imported === 1 ? "imported" : "generated",
    label: row.label,
    hint: row.hint,
    createdAt: row.created_at,
    lastActivity: row.last_activity,
    expiresAt: expiryOf(row.expires_at),
    block,
    coolingUntil: row.cooling_until,
    disabledAt: row.disabled_at,
    failures: row.failures,
    lastOutcome: row.last_outcome,
    lastReportAt: row.last_report_at,
  };
}

export function recordOf(row: KeyRow): KeyRecord {
  const secret: StoredSecret = { bytes: new Uint8Array(row.secret), sealedBy: row.sealed_by };
  return { ...stateOf(row), secret };
}

/** A stored `expires_at` as the rules read it. */
export function expiryOf(stored: number): number | null {
  return stored >= NO_EXPIRY ? null : stored;
}

/** An expiry as `expires_at` stores it. */
export function storedExpiry(expiresAt: number | null): number {
  return expiresAt ?? NO_EXPIRY;
}
