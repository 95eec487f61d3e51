/** Why a pool operation was refused. The Worker maps each reason to an HTTP status. */
export type Refusal =
  /** No such key, or it has expired or been deleted. */
  | "not_found"
  /** The key is blocked, so its value is not handed out. */
  | "blocked"
  /** The lease given is not the key's current lease. */
  | "lease_conflict"
  /** The key is blocked and the caller, giving no lease, tried to block it too. */
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
