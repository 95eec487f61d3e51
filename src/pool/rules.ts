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

/** What the holder of a key reports of the upstream's answer (`POST /keys/{id}/report`). */
export type ReportOutcome = "ok" | "rate_limited" | "unauthorized" | "error";
export const REPORT_OUTCOMES: readonly ReportOutcome[] = ["ok", "rate_limited", "unauthorized", "error"];

/** What a key is at a moment: only a free key is handed out. */
export type KeyStateName = "free" | "blocked" | "cooling" | "disabled";

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
  /** The end of its cooldown: not handed out before (a 429 reported, failures, a lock-delay); else null. */
  readonly coolingUntil: number | null;
  /** When it was disabled (an `unauthorized` report, or an admin): never handed out until enabled. */
  readonly disabledAt: number | null;
  /** Consecutive `error` reports since its last `ok` (or cooldown for them). */
  readonly failures: number;
  readonly lastOutcome: ReportOutcome | null;
  readonly lastReportAt: number | null;
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
 * fires them may be late): `null` when the key has expired, the block dropped when it is due, the
 * cooldown when it is over. A block that ran out (its holder never released it) leaves the key
 * cooling for `lockDelayMs` after its release, so a stalled holder's late writes reach no one.
 */
export function settle<K extends KeyState>(record: K, now: number, lockDelayMs = 0): K | null {
  if (isExpired(record, now)) return null;
  let current = record;
  if (current.block !== null && isBlockDue(current.block, now)) {
    const delayed = lockDelayMs > 0 ? later(current.coolingUntil, current.block.releaseAt + lockDelayMs) : null;
    current = { ...current, block: null, coolingUntil: delayed ?? current.coolingUntil };
  }
  if (current.coolingUntil !== null && now >= current.coolingUntil) current = { ...current, coolingUntil: null };
  return current;
}

/** What a settled key is: disabled, blocked, cooling, or free (the only state handed out). */
export function stateOf(record: KeyState): KeyStateName {
  if (record.disabledAt !== null) return "disabled";
  if (record.block !== null) return "blocked";
  return record.coolingUntil === null ? "free" : "cooling";
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
  return {
    ...key,
    createdAt: now,
    lastActivity: now,
    expiresAt: expiryFrom(now, lifetime),
    block: null,
    coolingUntil: null,
    disabledAt: null,
    failures: 0,
    lastOutcome: null,
    lastReportAt: null,
  };
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
  // A block starts from a free key, or from a cooling one an admin takes: its cooldown is over then.
  return {
    ...record,
    coolingUntil: null,
    block: { blockedAt: now, releaseAt: now + holdMs, lease: holder.lease, holder: holder.digest },
  };
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

/** The earliest deadline this key still has pending (its release, its cooldown's end, its expiry), or null. */
export function nextDeadline(record: KeyState): number | null {
  const times = [record.block?.releaseAt ?? null, record.coolingUntil, record.expiresAt];
  return times.reduce<number | null>((a, b) => (a === null ? b : b === null ? a : Math.min(a, b)), null);
}

/** The later of two times, either possibly absent. */
function later(a: number | null, b: number): number {
  return a === null ? b : Math.max(a, b);
}

/** How a pool answers reports: a cooldown's default length, and the failures that start one. */
export interface ReportPolicy {
  readonly cooldownMs: number;
  readonly maxFailures: number;
}

/** A report of what the upstream answered, as its holder (or an admin) sends it. */
export interface Report {
  readonly outcome: ReportOutcome;
  /** The upstream's own wait (`Retry-After`), in milliseconds; else the pool's cooldown. */
  readonly retryAfterMs?: number | undefined;
  /** With `ok` (or an `error` that starts no cooldown): release the key as an unblock does. */
  readonly release?: boolean | undefined;
}

/** What a report did to a key, beyond its row: for the counters and the log. */
export interface Reported<K> {
  readonly next: K;
  /** It started (or extended) a cooldown. */
  readonly cooled: boolean;
  /** It disabled the key. */
  readonly disabled: boolean;
}

/**
 * A report on a key (settled at `now`): `rate_limited` ends the block and cools the key down until the
 * later of its current cooldown's end and now + the wait (a second report extends, never shortens);
 * `unauthorized` ends the block and disables the key; `error` counts a failure and, at the pool's
 * `maxFailures`, cools it down as for `rate_limited` and starts counting again; `ok` clears the count.
 * `release` releases the key after `ok` or an `error` that started no cooldown.
 */
export function report<K extends KeyState>(record: K, now: number, r: Report, policy: ReportPolicy): Reported<K> {
  const reported = { ...record, lastOutcome: r.outcome, lastReportAt: now };
  // A wait of 0 (or one already over) cools nothing: the key is free at once.
  const until = later(record.coolingUntil, now + (r.retryAfterMs ?? policy.cooldownMs));
  // A disabled key cools down no more than it is blocked: it is out until an admin enables it.
  const coolUntil = until > now && record.disabledAt === null ? until : null;
  // Counted only when the cooldown starts or grows: a shorter report leaves it as it was.
  const cooled = coolUntil !== null && coolUntil !== record.coolingUntil;
  switch (r.outcome) {
    case "rate_limited":
      return { next: { ...reported, block: null, coolingUntil: coolUntil }, cooled, disabled: false };
    case "unauthorized":
      return {
        next: { ...reported, block: null, coolingUntil: null, disabledAt: record.disabledAt ?? now },
        cooled: false,
        disabled: record.disabledAt === null,
      };
    case "error": {
      const failures = record.failures + 1;
      if (failures >= policy.maxFailures) {
        return { next: { ...reported, block: null, coolingUntil: coolUntil, failures: 0 }, cooled, disabled: false };
      }
      return {
        next: { ...reported, failures, block: r.release ? null : record.block },
        cooled: false,
        disabled: false,
      };
    }
    case "ok":
      return {
        next: { ...reported, failures: 0, block: r.release ? null : record.block },
        cooled: false,
        disabled: false,
      };
  }
}

/**
 * An admin disables a key (ending its block and any cooldown: a disabled key is only disabled), or
 * enables it again (its failures forgotten): it is free at once.
 */
export function setDisabled<K extends KeyState>(record: K, now: number, disabled: boolean): K {
  if (disabled) {
    return record.disabledAt === null ? { ...record, block: null, coolingUntil: null, disabledAt: now } : record;
  }
  return { ...record, disabledAt: null, failures: 0 };
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
