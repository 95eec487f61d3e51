import type { RateLimitInfo } from "./rate-limit.js";

/** Every failure the client reports: an HTTP error answer, or no answer at all (`status` 0). */
export class KeyPoolError extends Error {
  override readonly name = "KeyPoolError";
  /** The HTTP status, or 0 when no answer came (network error, timeout). */
  readonly status: number;
  /** The server's `details` (which inputs were wrong), when it sent any. */
  readonly details: unknown;
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /**
   * When no key was free (404) or too many callers were waiting for one (429): whole seconds until a
   * key may be free, as the server's body said (`retryAfterSeconds`), when the pool knows.
   */
  readonly retryAfterSeconds: number | undefined;
  /** How many times the request was sent. */
  readonly attempts: number;
  /** The answer's rate-limit fields (quota, window, what remains, when it resets), when it had any. */
  readonly rateLimit: RateLimitInfo | undefined;

  constructor(
    status: number,
    message: string,
    extra: {
      details?: unknown;
      retryAfterMs?: number | undefined;
      retryAfterSeconds?: number | undefined;
      attempts?: number;
      rateLimit?: RateLimitInfo | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.status = status;
    this.details = extra.details;
    this.retryAfterMs = extra.retryAfterMs;
    this.retryAfterSeconds = extra.retryAfterSeconds;
    this.attempts = extra.attempts ?? 1;
    this.rateLimit = extra.rateLimit;
  }

  /** True for answers that say a lease is no longer the caller's: the key is gone (404) or held under another lease (409). */
  get isLeaseLoss(): boolean {
    return this.status === 404 || this.status === 409;
  }
}
