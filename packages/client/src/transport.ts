import { KeyPoolError } from "./errors.js";
import { OPERATIONS, type Operation, type OperationId } from "./operations.js";
import { parseRateLimit } from "./rate-limit.js";
import { backoffMs, isRetryableStatus, parseRetryAfter, type RetryPolicy } from "./retry.js";
import { sleep, type Timers } from "./timers.js";

/** The pool `/keys` addresses. */
const DEFAULT_POOL = "default";

/** A `fetch` for one request: the global one, or a service binding's. */
export type FetchFunction = (request: Request) => Promise<Response>;

export interface TransportConfig {
  readonly baseUrl: string;
  readonly token: string | undefined;
  readonly pool: string | undefined;
  readonly fetch: FetchFunction;
  readonly retry: RetryPolicy;
  readonly timers: Timers;
  readonly timeoutMs: number;
}

export interface CallInput {
  readonly keyId?: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  /** Sent on every attempt of a mutating call; a fresh one is made when absent. */
  readonly idempotencyKey?: string | undefined;
  /** The holder secret of a key's block, sent as `KeyPool-Lease-Token` (never in the URL). */
  readonly leaseToken?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** How long the server may wait by design before it answers (for a free key): added to each attempt's timeout. */
  readonly waitMs?: number | undefined;
}

/**
 * Sends one API call: builds the request, sends it, and sends it again with backoff after a network
 * error, a timeout, a 5xx or a 429 (after `Retry-After` when the server sent one). A mutating call
 * carries the same `Idempotency-Key` on every attempt, so a retry after a lost answer is answered
 * from the first attempt where the server deduplicates. Error answers become `KeyPoolError`s.
 */
export async function send<T>(config: TransportConfig, operationId: OperationId, input: CallInput = {}): Promise<T> {
  const operation = OPERATIONS[operationId];
  const url = urlFor(config, operation, input);
  const headers: Record<string, string> = { accept: "text" in operation ? "text/plain" : "application/json" };
  if (config.token !== undefined) headers.authorization = `Bearer ${config.token}`;
  if (operation.mutates) headers["idempotency-key"] = input.idempotencyKey ?? randomKey();
  if (input.leaseToken !== undefined) headers["keypool-lease-token"] = input.leaseToken;
  const body = input.body === undefined ? undefined : JSON.stringify(input.body);
  if (body !== undefined) headers["content-type"] = "application/json";

  for (let attempt = 1; ; attempt++) {
    const last = attempt >= config.retry.attempts;
    let response: Response;
    try {
      const signal = attemptSignal(config.timeoutMs + (input.waitMs ?? 0), input.signal);
      response = await config.fetch(new Request(url, { method: operation.method, headers, body, signal }));
    } catch (error) {
      if (input.signal?.aborted) throw input.signal.reason;
      if (last) {
        throw new KeyPoolError(0, `No answer from KeyPool: ${describe(error)}`, { attempts: attempt, cause: error });
      }
      await sleep(config.timers, backoffMs(attempt, config.retry));
      continue;
    }
    if (response.ok) return ("text" in operation ? await response.text() : await response.json()) as T;

    const failure = await errorFrom(response, attempt, config.timers.now());
    if (last || !isRetryableStatus(response.status)) throw failure;
    const wait = failure.retryAfterMs ?? resetMs(failure) ?? backoffMs(attempt, config.retry);
    if (wait > config.retry.maxRetryAfterMs) throw failure;
    await sleep(config.timers, wait);
  }
}

function urlFor(config: TransportConfig, operation: Operation, input: CallInput): string {
  const pool = `/pools/${encodeURIComponent(config.pool ?? DEFAULT_POOL)}`;
  const base =
    operation.scope === "root"
      ? ""
      : operation.scope === "pool"
        ? pool
        : config.pool === undefined
          ? "/keys"
          : `${pool}/keys`;
  const id = input.keyId === undefined ? "" : encodeURIComponent(input.keyId);
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(input.query ?? {}))
    if (value !== undefined) search.set(name, String(value));
  const query = search.size === 0 ? "" : `?${search}`;
  return `${config.baseUrl.replace(/\/+$/, "")}${base}${operation.path.replace("{id}", id)}${query}`;
}

/** Aborts an attempt that takes longer than `timeoutMs`, or when the caller aborts. */
function attemptSignal(timeoutMs: number, caller: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return caller === undefined ? timeout : AbortSignal.any([timeout, caller]);
}

async function errorFrom(response: Response, attempts: number, now: number): Promise<KeyPoolError> {
  let body: { error?: unknown; details?: unknown; retryAfterSeconds?: unknown } | undefined;
  try {
    body = (await response.json()) as typeof body;
  } catch {
    body = undefined; // not JSON: a proxy or platform error page
  }
  const message = typeof body?.error === "string" ? body.error : `HTTP ${response.status}`;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), now);
  const rateLimit = parseRateLimit(response.headers);
  const retryAfterSeconds = typeof body?.retryAfterSeconds === "number" ? body.retryAfterSeconds : undefined;
  return new KeyPoolError(response.status, message, {
    details: body?.details,
    retryAfterMs,
    retryAfterSeconds,
    attempts,
    rateLimit,
  });
}

/** When a spent quota is available again (`RateLimit: ...;t=`), for an answer without `Retry-After`. */
function resetMs(failure: KeyPoolError): number | undefined {
  const { remaining, resetSeconds } = failure.rateLimit ?? {};
  return remaining === 0 && resetSeconds !== undefined ? resetSeconds * 1000 : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * A random UUIDv4 for `Idempotency-Key`. Built on `getRandomValues`, which every runtime has, since
 * `crypto.randomUUID` is missing in browsers outside secure contexts.
 */
export function randomKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
