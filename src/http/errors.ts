import type { Refusal, Refused } from "../outcome";
import { MAX_ERROR_LENGTH } from "./schemas";

/** Where an input was wrong (`body.count`, `query.lease`, `params.pool`, `headers.content-type`) and why. */
export interface Problem {
  readonly path: string;
  readonly message: string;
  /** The key the problem is about, when it is one (the key already holding an imported value). */
  readonly keyId?: string;
}

/** Most entries one error's `details` lists (the document says so too). */
export const MAX_PROBLEMS = 100;

/** The one error type of the HTTP layer: a status, a message safe to show, optional details. */
export class HttpError extends Error {
  override readonly name = "HttpError";

  constructor(
    readonly status: number,
    message: string,
    /** Which inputs were wrong: always this one shape, so a client reads every error the same way. */
    readonly details?: readonly Problem[],
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }

  /** When a key may be free (an assignment that found none): the body says it as `Retry-After` does. */
  retryAfterSeconds?: number;
}

/** The 400 for invalid input: every problem in `details`, the first one in the message. */
export function invalidRequest(problems: readonly [Problem, ...Problem[]]): HttpError {
  const [first] = problems;
  return new HttpError(400, `Invalid request: ${first.path}: ${first.message}`, problems.slice(0, MAX_PROBLEMS));
}

/**
 * What a refused pool operation answers. Messages never name another key or anything internal; `{}`
 * stands for the refusal's `about` (an encryption key's fingerprint).
 */
export const REFUSALS: Record<Refusal, { status: number; message: string }> = {
  not_found: { status: 404, message: "Key not found" },
  blocked: { status: 403, message: "Key is blocked" },
  lease_conflict: {
    status: 409,
    message: "Not the holder: the lease or the KeyPool-Lease-Token is not the key's current block's, or is missing",
  },
  not_holder: { status: 403, message: "Forbidden: without the key's KeyPool-Lease-Token this needs an admin token" },
  holder_only: {
    status: 403,
    message: "This pool shows a key's value only to its holder: send the KeyPool-Lease-Token of the key's block",
  },
  held: { status: 409, message: "Key is already blocked; only its holder can renew it" },
  key_disabled: {
    status: 409,
    message: 'Key is disabled: it is not blocked or handed out until an admin enables it ({"disabled": false})',
  },
  too_many_waiters: {
    status: 429,
    message: "Too many callers are already waiting for a key in this pool: retry later",
  },
  no_such_pool: { status: 404, message: "No such pool" },
  replay_gone: {
    status: 410,
    message:
      "The block this Idempotency-Key's assignment handed out has ended (released, expired or deleted): " +
      "it is not handed out again; make a new assignment with a new Idempotency-Key",
  },
  none_free: { status: 404, message: "No free key available" },
  idempotency_mismatch: {
    status: 422,
    message: "Idempotency-Key was already used for a different request in this pool",
  },
  imported_value: {
    status: 403,
    message:
      "An imported key's value is shown only to the holder of its block: send the block's KeyPool-Lease-Token " +
      "(admins too)",
  },
  duplicate_values: {
    status: 409,
    message: "Nothing was imported: some values are in the pool already or given twice (see details)",
  },
  no_encryption_key: {
    status: 503,
    message:
      "Importing keys needs an encryption key: set the KEY_ENCRYPTION_KEY secret (openssl rand -base64 32 | " +
      "npx wrangler secret put KEY_ENCRYPTION_KEY)",
  },
  value_key_missing: {
    status: 503,
    message:
      "The key's value is sealed under encryption key {}, which KEY_ENCRYPTION_KEY no longer holds: put that key " +
      "back (after the others) and the value is there again; nothing was deleted",
  },
  value_unreadable: {
    status: 500,
    message: "The key's stored value fails its integrity check: it was not sealed for this key in this pool",
  },
};

export function refusalError(refused: Refusal | Refused): HttpError {
  const { refusal, details, about, retryAfterSeconds } = typeof refused === "string" ? { refusal: refused } : refused;
  const { status, message } = REFUSALS[refusal];
  const text = message.replace("{}", about ?? "?");
  const error = new HttpError(status, text, details?.slice(0, MAX_PROBLEMS), retryAfter(retryAfterSeconds));
  if (retryAfterSeconds !== undefined) error.retryAfterSeconds = retryAfterSeconds;
  return error;
}

function retryAfter(seconds: number | undefined): Record<string, string> | undefined {
  return seconds === undefined ? undefined : { "Retry-After": String(seconds) };
}

/** The pool's object restarted while it served the call: safe to retry, with the same Idempotency-Key. */
export function poolRestarted(): HttpError {
  return new HttpError(
    503,
    "The pool restarted while it served this call: retry it (an Idempotency-Key gets the answer it may have had)",
    undefined,
    { "Retry-After": "1" },
  );
}

/** A failure inside the Worker: nothing about it is shown. */
export function internalError(): HttpError {
  return new HttpError(500, "Internal error");
}

/** What every non-2xx answer holds: a non-empty `error` and, optionally, `details`. */
export function errorBody(error: HttpError): {
  error: string;
  details?: readonly Problem[];
  retryAfterSeconds?: number;
} {
  const body: { error: string; details?: readonly Problem[]; retryAfterSeconds?: number } = {
    error: error.message.slice(0, MAX_ERROR_LENGTH),
  };
  if (error.details !== undefined) body.details = error.details;
  if (error.retryAfterSeconds !== undefined) body.retryAfterSeconds = error.retryAfterSeconds;
  return body;
}

/** Every non-2xx answer: `application/json`, the error body, and the error's own headers. */
export function errorResponse(error: HttpError): Response {
  return new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: { "content-type": "application/json; charset=utf-8", ...error.headers },
  });
}
