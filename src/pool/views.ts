/**
 * What the pool answers about its keys: the views every read and every change returns, computed
 * from a key's state at a moment. The HTTP layer's zod schemas (src/http/schemas.ts) are checked by
 * the compiler to describe exactly these types, so the two cannot drift apart.
 */
import type { EncryptionStatus } from "./encryption";
import type { Counter } from "./events";
import { type KeySource, type KeyState, type KeyStateName, type ReportOutcome, stateOf } from "./rules";
import type { PoolSettings } from "./settings";

/** What `GET /keys/{id}/info` answers: state and deadlines, never the key value. */
export interface KeyInfo {
  readonly isBlocked: boolean;
  readonly createdAt: string;
  /** Null in a pool whose keys do not expire. */
  readonly expiresAt: string | null;
  readonly lastActivity: string;
  readonly blockedAt: string | null;
  readonly releaseAt: string | null;
  readonly source: KeySource;
  readonly label: string | null;
  /** The last characters of an imported value; null for a generated key or a short value. */
  readonly hint: string | null;
  /** Free (handed out by an assignment), blocked (by a holder), cooling or disabled. */
  readonly state: KeyStateName;
  /** The end of its cooldown while it is cooling, else null. */
  readonly coolingUntil: string | null;
  /** Consecutive `error` reports since its last `ok` or cooldown. */
  readonly failures: number;
  readonly lastOutcome: ReportOutcome | null;
  readonly lastReportAt: string | null;
}

/**
 * The info view, plus the lease when the call itself blocked or renewed the key, and the holder
 * secret when it started the block.
 */
export type BlockResult = KeyInfo & { readonly lease?: number; readonly leaseToken?: string };

/**
 * A key handed out by an assignment: its value, the block's fencing number and end, and the secret
 * that proves its holder (answered here, and again only to the same caller's idempotent retry).
 */
export interface Assignment {
  readonly keyId: string;
  readonly key: string;
  readonly lease: number;
  readonly releaseAt: string;
  readonly leaseToken: string;
}

/**
 * An assignment as the pool records it: no value (the object opens it from the key's row, so no value
 * is ever kept in an idempotency answer), and no holder secret (the Worker's: the pool keeps only its
 * digest); for an idempotent call, `sealedToken` is the secret as the Worker sealed it for the replay.
 */
export type Grant = Omit<Assignment, "leaseToken" | "key"> & { readonly sealedToken?: string };

/** An assignment as the object answers it: the grant with the key's value, opened. */
export type OpenedGrant = Grant & { readonly key: string };

/** A block or unblock as the pool answers it: the info view, the lease, and whether it started a block. */
export type BlockChange = KeyInfo & { readonly lease?: number; readonly startedBlock: boolean };

/** A key's value, for `GET /keys/{id}`. */
export interface KeyValue {
  readonly keyId: string;
  readonly key: string;
}

/** A listed key: the info view plus its id, never its value. */
export type ListedKey = { readonly keyId: string } & KeyInfo;

/** What `GET /pools/{pool}` shows, but the pool's name. */
export interface PoolStats {
  readonly keys: {
    readonly total: number;
    readonly free: number;
    readonly blocked: number;
    readonly cooling: number;
    readonly disabled: number;
  };
  readonly counters: Readonly<Record<Counter, number>>;
  readonly settings: PoolSettings;
  readonly encryption: EncryptionStatus;
  /** Callers waiting for a key now (`GET /keys?waitSeconds`). */
  readonly waiting: number;
}

export function toInfo(record: KeyState): KeyInfo {
  return {
    isBlocked: record.block !== null,
    createdAt: iso(record.createdAt),
    expiresAt: record.expiresAt === null ? null : iso(record.expiresAt),
    lastActivity: iso(record.lastActivity),
    blockedAt: record.block === null ? null : iso(record.block.blockedAt),
    releaseAt: record.block === null ? null : iso(record.block.releaseAt),
    source: record.source,
    label: record.label,
    hint: record.hint,
    state: stateOf(record),
    coolingUntil: record.coolingUntil === null ? null : iso(record.coolingUntil),
    failures: record.failures,
    lastOutcome: record.lastOutcome,
    lastReportAt: record.lastReportAt === null ? null : iso(record.lastReportAt),
  };
}

/** ISO-8601 UTC with milliseconds, e.g. `2026-11-25T15:48:19.123Z`. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
