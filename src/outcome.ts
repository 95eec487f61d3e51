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
  /** Every key is blocked or the pool is empty. */
  | "none_free"
  /** The `Idempotency-Key` was already used for a different request. */
  | "idempotency_mismatch";

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly refusal: Refusal };

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function refuse<T = never>(refusal: Refusal): Outcome<T> {
  return { ok: false, refusal };
}
