/**
 * The pool's rules: what state a key is in at a given moment and what each operation does to it.
 * No I/O and no clock: `now` (milliseconds since the epoch) is always passed in, so every rule can be
 * tested deterministically and the Durable Object stays a thin adapter around storage.
 */

/** Most keys one bulk create makes, in one transaction. */
export const MAX_BULK_CREATE = 1000;

/** A key as stored. All times are milliseconds since the epoch. */
export interface KeyRecord {
  readonly keyId: string;
  readonly key: string;
  readonly createdAt: number;
  readonly lastActivity: number;
  /** Deadline after which the key is gone for good: `lastActivity + keyTtl` when it was last set. */
  readonly expiresAt: number;
  /** Present together with `releaseAt` and `lease` while the key is blocked. */
  readonly block: Block | null;
}

/** Everything about a key but its value: all the rules need to tell its state. */
export type KeyState = Omit<KeyRecord, "key">;

export interface Block {
  readonly blockedAt: number;
  /** Deadline at which the block is released by itself. */
  readonly releaseAt: number;
  /** Fencing number of this block: grows with every block in the pool. */
  readonly lease: number;
}

/** Timings a pool applies to the deadlines it sets, in milliseconds. */
export interface PoolTimings {
  readonly keyTtlMs: number;
  /** How long a block lasts when its assignment asked for no hold of its own. */
  readonly blockTtlMs: number;
}

/** The public view of a key: what `GET /keys/{id}/info` answers (never the key value). */
export interface KeyInfo {
  readonly isBlocked: boolean;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly lastActivity: string;
  readonly blockedAt: string | null;
  readonly releaseAt: string | null;
}

/** A key is alive strictly before its expiry deadline; at `expiresAt` it is gone. */
export function isExpired(record: KeyState, now: number): boolean {
  return now >= record.expiresAt;
}

/** A block holds strictly before its release deadline; at `releaseAt` the key is free again. */
export function isBlockDue(block: Block, now: number): boolean {
  return now >= block.releaseAt;
}

/**
 * The key as it stands at `now`, treating every passed deadline as already fired (the alarm that
 * fires them may be late): `null` when the key has expired, the block dropped when it is due.
 */
export function settle<K extends KeyState>(record: K, now: number): K | null {
  if (isExpired(record, now)) return null;
  if (record.block !== null && isBlockDue(record.block, now)) return { ...record, block: null };
  return record;
}

export function createKey(keyId: string, key: string, now: number, timings: PoolTimings): KeyRecord {
  return { keyId, key, createdAt: now, lastActivity: now, expiresAt: now + timings.keyTtlMs, block: null };
}

/** Keep-alive: the key lives another full TTL from now, blocked or not. */
export function keepAlive(record: KeyRecord, now: number, timings: PoolTimings): KeyRecord {
  return { ...record, lastActivity: now, expiresAt: now + timings.keyTtlMs };
}

/** A key while it is blocked. */
export type BlockedKey = KeyRecord & { readonly block: Block };

export function isBlocked(record: KeyRecord): record is BlockedKey {
  return record.block !== null;
}

/** Block from now on, under the given lease, for `holdMs` (the pool's block time unless the caller asked). */
export function block(
  record: KeyRecord,
  now: number,
  lease: number,
  timings: PoolTimings,
  holdMs: number = timings.blockTtlMs,
): BlockedKey {
  return { ...record, block: { blockedAt: now, releaseAt: now + holdMs, lease } };
}

/**
 * The holder's renewal: the block starts again from now for the same hold and keeps its lease. The
 * hold is read back from the block itself (`releaseAt - blockedAt`), so an assignment's own
 * `holdSeconds` survives every renewal without being stored anywhere else.
 */
export function renew(record: BlockedKey, now: number): BlockedKey {
  const { blockedAt, releaseAt, lease } = record.block;
  return { ...record, block: { blockedAt: now, releaseAt: now + (releaseAt - blockedAt), lease } };
}

/** Whether an assignment may ask for this hold: a whole number of seconds from 1 to the longest allowed. */
export function isValidHold(holdSeconds: number, maxHoldMs: number): boolean {
  return Number.isInteger(holdSeconds) && holdSeconds >= 1 && holdSeconds * 1000 <= maxHoldMs;
}

/** The hold an assignment gets, in milliseconds: the one it asked for if valid (else null), or the pool's block time. */
export function holdFor(holdSeconds: number | undefined, timings: PoolTimings, maxHoldMs: number): number | null {
  if (holdSeconds === undefined) return timings.blockTtlMs;
  return isValidHold(holdSeconds, maxHoldMs) ? holdSeconds * 1000 : null;
}

export function unblock(record: KeyRecord): KeyRecord {
  return { ...record, block: null };
}

/** Why a lease-guarded call is refused, or `null` when it may go ahead. */
export function leaseMismatch(record: KeyRecord, lease: number | undefined): "lease" | null {
  if (lease === undefined) return null;
  return record.block?.lease === lease ? null : "lease";
}

/** The earliest deadline this key still has pending: its release if blocked, else its expiry. */
export function nextDeadline(record: KeyRecord): number {
  return record.block === null ? record.expiresAt : Math.min(record.block.releaseAt, record.expiresAt);
}

/** A uniformly random integer in [0, n), n >= 1, from a source of uniform 32-bit words. */
export function uniformIndex(n: number, randomWord: () => number): number {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError(`uniformIndex: bad range ${n}`);
  // Rejection sampling removes the modulo bias that `word % n` has when n does not divide 2^32.
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const word = randomWord();
    if (word < limit) return word % n;
  }
}

export function toInfo(record: KeyState): KeyInfo {
  return {
    isBlocked: record.block !== null,
    createdAt: iso(record.createdAt),
    expiresAt: iso(record.expiresAt),
    lastActivity: iso(record.lastActivity),
    blockedAt: record.block === null ? null : iso(record.block.blockedAt),
    releaseAt: record.block === null ? null : iso(record.block.releaseAt),
  };
}

/** ISO-8601 UTC with milliseconds, e.g. `2026-11-25T15:48:19.123Z`. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
