/** When and how long to wait before sending a request again. Pure: the caller passes `now` and `random`. */

export interface RetryPolicy {
  /** Most times one call is sent, the first included. */
  readonly attempts: number;
  /** First backoff; it doubles with every retry, with full jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the call fails with the 429/503 instead. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterMs: 30_000 };

/** Answers worth sending again: throttling and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Exponential backoff with full jitter before retry number `retry` (1 = the first retry). */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/** A `Retry-After` header (delay-seconds or an HTTP date) in milliseconds from `now`, if it is valid. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // HTTP dates start with a day name; anything else (`-1`, `1.5`) is not a valid Retry-After.
  if (!/^[A-Za-z]/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
