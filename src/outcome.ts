/** Why a pool operation was refused. The Worker maps each reason to an HTTP status. */
export type Refusal =
  /** No such key, or it has expired or been deleted. */
  | "not_found"
  /** The key is blocked, so its value is not handed out. */
  | "blocked"
  /** The caller acted as the key's holder and is not: a stale lease or a missing or wrong holder secret. */
  | "lease_conflict"
  /** A client without a holder secret tried what only an admin may do without one. */
  | "not_holder"
  /** The pool shows values to their holder only, and the caller does not hold the key. */
  | "holder_only"
  /** The pool was never made (an admin makes it by creating keys or setting its settings). */
  | "no_such_pool"
  /** An idempotent assignment's replay: the block it handed out has ended, so it is not handed out again. */
  | "replay_gone"
  /** The key is blocked and the caller, not acting as its holder, tried to block it too. */
  | "held"
  /** The key is disabled: it cannot be blocked until an admin enables it. */
  | "key_disabled"
  /** The pool already has as many callers waiting for a key as it keeps (MAX_WAITERS). */
  | "too_many_waiters"
  /** Every key is blocked or the pool is empty. */
  | "none_free"
  /** The `Idempotency-Key` was already used for a different request. */
  | "idempotency_mismatch"
  /** An imported key's value, asked for by a caller that does not hold the key (admins included). */
  | "imported_value"
  /** Values imported that the pool already holds, or that the request holds twice (`details` say which). */
  | "duplicate_values"
  /** Importing needs an encryption key (KEY_ENCRYPTION_KEY), and none is configured. */
  | "no_encryption_key"
  /** The value is sealed under an encryption key no longer configured (`about`: its fingerprint). */
  | "value_key_missing"
  /** The stored value does not open: it was not sealed for this key in this pool. */
  | "value_unreadable";

/** Which input a refusal is about, for the answer's `details` (`body.keys.3.key`), and the key it names. */
export interface RefusalDetail {
  readonly path: string;
  readonly message: string;
  readonly keyId?: string;
}

export type Refused = {
  readonly ok: false;
  readonly refusal: Refusal;
  readonly details?: readonly RefusalDetail[];
  /** A safe word the answer's message names (an encryption key's fingerprint). */
  readonly about?: string;
  /** When to try again, in whole seconds: when a key may next be free. */
  readonly retryAfterSeconds?: number;
};

export type Outcome<T> = { readonly ok: true; readonly value: T } | Refused;

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function refuse<T = never>(
  refusal: Refusal,
  extra: { details?: readonly RefusalDetail[]; about?: string; retryAfterSeconds?: number } = {},
): Outcome<T> {
  return { ok: false, refusal, ...extra };
}

/** A refusal that may be over by the next call, which an idempotent call therefore does not record. */
export function isTransient(outcome: Outcome<unknown>): boolean {
  return !outcome.ok && (outcome.refusal === "value_key_missing" || outcome.refusal === "value_unreadable");
}
