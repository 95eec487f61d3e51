/**
 * The pool's rules: what state a key is in at a given moment and what each operation does to it.
 * No I/O and no clock: `now` (milliseconds since the epoch) is always passed in, so every rule can be
 * tested deterministically and the Durable Object stays a thin adapter around storage.
 */

import { MIN_HOLD_SECONDS } from "./limits";

/** Where a key's value came from: made by the pool (a UUID), or imported by an admin. */
export type KeySource = "generated" | "imported";

/**
 * A key's value as stored: `bytes` sealed under the encryption key whose fingerprint is `sealedBy`, or,
 * when `sealedBy` is null, a generated key's 16 bytes as they are (stored before a key was configured).
 */
export interface StoredSecret {
  readonly bytes: Uint8Array;
  readonly sealedBy: string | null;
}

/** What a new key is made of; the pool sets its times. */
export interface NewKey {
  readonly keyId: string;
  readonly secret: StoredSecret;
  readonly source: KeySource;
  /** For people, shown wherever the key's state is. */
  readonly label: string | null;
  /** The last characters of an imported value, so people can tell keys apart; null for generated keys. */
  readonly hint: string | null;
}

/** A key as stored. All times are milliseconds since the epoch. */
export interface KeyRecord extends NewKey {
  readonly createdAt: number;
  readonly lastActivity: number;
  /**
   * Deadline after which the key is gone for good: `lastActivity + keyTtl` when it was last set; null
   * in a pool whose keys do not expire (`keysExpire: false`).
   */
  readonly expiresAt: number | null;
  /** Present together with `releaseAt` and `lease` while the key is blocked. */
  readonly block: Block | null;
}

/** Everything about a key but its value: all the rules need to tell its state. */
export type KeyState = Omit<KeyRecord, "secret">;

export interface Block {
  readonly blockedAt: number;
  /** Deadline at which the block is released by itself. */
  readonly releaseAt: number;
  /** Fencing number of this block: grows with every block in the pool. */
  readonly lease: number;
  /**
   * SHA-256 of the block's holder secret (`leaseToken`), which proves who holds it; null for a block
   * made before holder secrets existed (storage version 2), which only an admin may end early.
   */
  readonly holder: Uint8Array | null;
}

/**
 * Who acts on a key, and what they present as its holder: the fencing number they know and the
 * digest of the holder secret they sent. An admin may act on any key; anyone else acts only as the
 * holder, proven by the secret: a lease alone proves nothing, since leases can be guessed.
 */
export interface Claim {
  readonly admin: boolean;
  readonly lease?: number | undefined;
  readonly holder?: Uint8Array | undefined;
}

/** Timings a pool applies to the deadlines it sets, in milliseconds. */
export interface PoolTimings {
  readonly keyTtlMs: number;
  /** How long a block lasts when its assignment asked for no hold of its own. */
  readonly blockTtlMs: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Key ids are UUIDs, in either case; any other text names no key. */
export function isKeyId(text: string): boolean {
  return UUID.test(text);
}

/** A key is alive strictly before its expiry deadline; at `expiresAt` it is gone. */
export function isExpired(record: KeyState, now: number): boolean {
  return record.expiresAt !== null && now >= record.expiresAt;
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

/**
 * How long a key lives from its last activity: the key TTL, or null (for ever) in a pool whose keys
 * do not expire.
 */
export type Lifetime = number | null;

/** The expiry of a key active at `now`. */
export function expiryFrom(now: number, lifetime: Lifetime): number | null {
  return lifetime === null ? null : now + lifetime;
}

export function createKey(key: NewKey, now: number, lifetime: Lifetime): KeyRecord {
  return { ...key, createdAt: now, lastActivity: now, expiresAt: expiryFrom(now, lifetime), block: null };
}

/** Keep-alive: the key lives another full lifetime from now, blocked or not. */
export function keepAlive<K extends KeyState>(record: K, now: number, lifetime: Lifetime): K {
  return { ...record, lastActivity: now, expiresAt: expiryFrom(now, lifetime) };
}

/** A key while it is blocked. */
export type BlockedKey = KeyRecord & { readonly block: Block };

export function isBlocked(record: KeyRecord): record is BlockedKey {
  return record.block !== null;
}

/** Block from now on, under a new lease and holder secret (null: none, only an admin may end it early), for `holdMs`. */
export function block(
  record: KeyRecord,
  now: number,
  holder: { lease: number; digest: Uint8Array | null },
  holdMs: number,
): BlockedKey {
  return { ...record, block: { blockedAt: now, releaseAt: now + holdMs, lease: holder.lease, holder: holder.digest } };
}

/**
 * The holder's renewal: the block starts again from now for the same hold and keeps its lease. The
 * hold is read back from the block itself (`releaseAt - blockedAt`), so an assignment's own
 * `holdSeconds` survives every renewal without being stored anywhere else.
 */
export function renew(record: BlockedKey, now: number): BlockedKey {
  const { blockedAt, releaseAt } = record.block;
  return { ...record, block: { ...record.block, blockedAt: now, releaseAt: now + (releaseAt - blockedAt) } };
}

/** Whether an assignment may ask for this hold: whole seconds from MIN_HOLD_SECONDS to the longest allowed. */
export function isValidHold(holdSeconds: number, maxHoldMs: number): boolean {
  return Number.isInteger(holdSeconds) && holdSeconds >= MIN_HOLD_SECONDS && holdSeconds * 1000 <= maxHoldMs;
}

/** The hold an assignment gets, in milliseconds: the one it asked for if valid (else null), or the pool's block time. */
export function holdFor(holdSeconds: number | undefined, timings: PoolTimings, maxHoldMs: number): number | null {
  if (holdSeconds === undefined) return timings.blockTtlMs;
  return isValidHold(holdSeconds, maxHoldMs) ? holdSeconds * 1000 : null;
}

export function unblock(record: KeyRecord): KeyRecord {
  return { ...record, block: null };
}

/** Whether the caller acts as the key's holder: it gives a lease or a holder secret. */
export function claimsHolding(claim: Claim): boolean {
  return claim.lease !== undefined || claim.holder !== undefined;
}

/**
 * Whether `claim` proves it holds `record`'s current block: every part it gives must be the block's
 * (a stale or guessed lease, a wrong secret, no block at all: no), and anyone but an admin must give
 * the secret. Digests are compared, not secrets: timing says nothing about a secret.
 */
export function holds(record: KeyRecord, claim: Claim): boolean {
  const block = record.block;
  if (block === null) return false;
  if (claim.lease !== undefined && claim.lease !== block.lease) return false;
  if (claim.holder === undefined) return claim.admin;
  return block.holder !== null && sameBytes(claim.holder, block.holder);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The earliest deadline this key still has pending (its release if blocked, its expiry), or null for none. */
export function nextDeadline(record: KeyState): number | null {
  const release = record.block?.releaseAt ?? null;
  if (release === null || record.expiresAt === null) return release ?? record.expiresAt;
  return Math.min(release, record.expiresAt);
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
