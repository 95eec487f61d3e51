import type { ListedRow } from "../pool/listing";
import type { KeyRecord } from "../pool/rules";
import { bytesToUuid } from "./uuid";

/**
 * The form of a key in the `keys` table (docs/storage-schema.md), read back as the pool's rules see
 * it. A block is stored as its two times, its lease and its holder's digest; `lease` alone stays
 * after the block ends.
 */

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
};

export type KeyRow = KeyColumns & { secret: ArrayBuffer };

export const STATE_COLUMNS = "id, created_at, last_activity, expires_at, blocked_at, release_at, lease, holder";
export const KEY_COLUMNS = `${STATE_COLUMNS}, secret`;

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
    createdAt: row.created_at,
    lastActivity: row.last_activity,
    expiresAt: row.expires_at,
    block,
  };
}

export function recordOf(row: KeyRow): KeyRecord {
  return { ...stateOf(row), key: bytesToUuid(row.secret) };
}
