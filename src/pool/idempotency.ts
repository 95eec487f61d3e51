/**
 * Idempotency rules: a request that carries an `Idempotency-Key` is done at most once per pool; a
 * repeat of the same request with the same key within the retention time answers what the first one
 * answered. No I/O and no clock: `now` is passed in, hashes are computed by the caller.
 */

import { sameBytes } from "./rules";

/** How long an answer is kept for replay. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** Longest `Idempotency-Key` accepted. Long enough for any UUID, ULID or hash a client would send. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** Visible ASCII only (no spaces or control characters), 1..255 characters. */
export const IDEMPOTENCY_KEY_PATTERN = new RegExp(`^[\\x21-\\x7E]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}$`);

/** What the Worker hands the pool for an idempotent call: SHA-256 digests, never the request itself. */
export interface IdempotencyToken {
  /** Digest of the `Idempotency-Key` header value: the entry's identity. */
  readonly keyHash: Uint8Array;
  /** Digest of the request (method, pool-relative path, query, body): what the key was used for. */
  readonly requestHash: Uint8Array;
}

/** A stored answer. `outcome` is the pool operation's result as JSON, replayed verbatim. */
export interface IdempotencyEntry {
  readonly requestHash: Uint8Array;
  readonly expiresAt: number;
  readonly outcome: string;
}

export type IdempotencyDecision =
  /** No live entry: do the work, then record its outcome. */
  | { readonly kind: "fresh" }
  /** The same request again: answer the recorded outcome, do nothing. */
  | { readonly kind: "replay"; readonly outcome: string }
  /** The key was used for a different request: refuse. */
  | { readonly kind: "mismatch" };

/** What to do with a request whose key has `entry` stored (or nothing). An entry is dead at `expiresAt`. */
export function decide(entry: IdempotencyEntry | null, requestHash: Uint8Array, now: number): IdempotencyDecision {
  if (entry === null || now >= entry.expiresAt) return { kind: "fresh" };
  return sameBytes(entry.requestHash, requestHash) ? { kind: "replay", outcome: entry.outcome } : { kind: "mismatch" };
}
