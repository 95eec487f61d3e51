import { KeyPoolError } from "./errors.js";
import { Lease, type LeaseCalls, type LeaseOptions } from "./lease.js";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
import { platformTimers, type Timers } from "./timers.js";
import { type CallInput, type FetchFunction, send, type TransportConfig } from "./transport.js";
import type {
  Assignment,
  AuditPage,
  AuditQuery,
  BlockResult,
  CreateBody,
  Created,
  CreatedMany,
  Deleted,
  ImportEntry,
  KeyInfo,
  KeyPage,
  KeyValue,
  ListQuery,
  PoolListQuery,
  PoolPage,
  PoolSettings,
  PoolStats,
  ReportBody,
  SettingsPatch,
  UpdateBody,
} from "./types.js";
import { outcomeOf } from "./upstream.js";

export interface KeyPoolClientOptions {
  /** Where KeyPool answers, e.g. `https://keypool.example.com`; any origin with a service binding. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** The pool to use (`/pools/{pool}/keys`); without it, the pool `default` (`/keys`). */
  readonly pool?: string | undefined;
  /**
   * How requests are sent: the global `fetch` by default, or a service binding (pass the binding
   * itself, `env.KEYPOOL`, or a function that calls `env.KEYPOOL.fetch(request)`).
   */
  readonly fetch?: FetchFunction | { fetch(request: Request): Promise<Response> };
  /** Retries after network errors, timeouts, 5xx and 429. */
  readonly retry?: Partial<RetryPolicy>;
  /** Longest wait for one attempt's answer (default 10 s). */
  readonly timeoutMs?: number;
  /** Clock and timers for backoff and lease renewal (tests inject fake ones). */
  readonly timers?: Timers;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  /**
   * The `Idempotency-Key` for a mutating call; a random one is made per call when absent. Reuse a
   * stored one to make a call safe to repeat across process restarts.
   */
  readonly idempotencyKey?: string;
}

export interface CreateOptions extends CallOptions {
  /** A label for every key created: 1-128 characters, no control characters. */
  readonly label?: string;
}

export interface AssignOptions extends CallOptions {
  /** Block for this many seconds (1..MAX_HOLD_SECONDS) instead of the pool's block time. */
  readonly holdSeconds?: number;
  /**
   * When no key is free, wait up to this many seconds (0..MAX_WAIT_SECONDS, 30 by default on the
   * server) for the first one to come free, first come first served. Each attempt's timeout is
   * extended by the wait.
   */
  readonly waitSeconds?: number;
}

export interface AcquireOptions extends AssignOptions, LeaseOptions {}

/** The upstream call `withKey` makes with a key: it returns the upstream's answer, unread. */
export type KeyedCall = (key: string, lease: Lease) => Response | Promise<Response>;

export interface WithKeyOptions extends Omit<AcquireOptions, "idempotencyKey"> {
  /**
   * Most keys to try (default 3): after a 429 or a 401/403 from the upstream, `fn` is called again
   * with another key while attempts remain.
   */
  readonly attempts?: number;
  /**
   * Called when a report of the upstream's answer fails (KeyPool unreachable after its retries, say):
   * the upstream's answer is still returned, and the key released as far as possible (its block ends
   * by itself anyway). A lease lost meanwhile is told by its `"lost"` event (and `onLost`) instead.
   */
  readonly onReportError?: (error: unknown, lease: Lease) => void;
}

/** How many keys `withKey` tries unless told. */
export const DEFAULT_WITH_KEY_ATTEMPTS = 3;

export interface HolderOptions extends CallOptions {
  /** Act only as the holder of this lease (else the call fails with 409); a fencing check. */
  readonly lease?: number;
  /** Act as the holder: the block's `leaseToken`, which proves it (a client needs it to act as the holder). */
  readonly leaseToken?: string;
}

/**
 * A typed client for KeyPool. It has no dependency beyond `fetch` and runs unchanged in Workers,
 * Node >= 22 and browsers. Every call is retried with backoff after a network error, a timeout, a
 * 5xx or a 429 (honouring `Retry-After`); every mutating call carries an `Idempotency-Key`, the same
 * on each retry, so a retried create or assignment is answered from the first attempt instead of
 * creating or blocking again. Error answers throw `KeyPoolError` (status, message, details).
 */
export class KeyPoolClient {
  readonly #config: TransportConfig;
  readonly #timers: Timers;

  constructor(options: KeyPoolClientOptions) {
    const custom = options.fetch;
    const fetcher: FetchFunction =
      custom === undefined
        ? (request) => globalThis.fetch(request)
        : typeof custom === "function"
          ? (request) => custom(request)
          : (request) => custom.fetch(request);
    this.#timers = options.timers ?? platformTimers;
    this.#config = {
      baseUrl: options.baseUrl,
      token: options.token,
      pool: options.pool,
      fetch: fetcher,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      timers: this.#timers,
      timeoutMs: options.timeoutMs ?? 10_000,
    };
  }

  /** `POST /keys` (admin): creates one key, with `label` if given. */
  createKey(options: CreateOptions = {}): Promise<Created> {
    const { label, ...call } = options;
    const body: CreateBody | undefined = label === undefined ? undefined : { label };
    return this.#send("createKeys", { ...call, body });
  }

  /** `POST /keys {"count"}` (admin): creates `count` keys (1-1000) in one transaction, each with `label` if given. */
  createKeys(count: number, options: CreateOptions = {}): Promise<CreatedMany> {
    const { label, ...call } = options;
    const body: CreateBody = { count, label };
    return this.#send("createKeys", { ...call, body });
  }

  /**
   * `POST /keys {"keys"}` (admin): imports values an upstream issued (1-1000) in one transaction;
   * `keyIds` answers them in order. A value already in the pool, or given twice, fails with 409 and
   * imports nothing (`details` names each by its index, with the `keyId` already holding it). Only
   * each entry's `key` and `label` are sent. The values go nowhere else: not into an error, not into
   * a log. An imported value is shown only to the holder of its block (`acquire().key`).
   */
  importKeys(entries: readonly ImportEntry[], options: CallOptions = {}): Promise<CreatedMany> {
    const body: CreateBody = { keys: entries.map(({ key, label }) => ({ key, label })) };
    return this.#send("createKeys", { ...options, body });
  }

  /**
   * `GET /keys`: blocks a free key and hands it to you, with nothing in the background. Prefer
   * `acquire`, which also keeps it. Fails with 404 when no key is free.
   */
  assign(options: AssignOptions = {}): Promise<Assignment> {
    const { holdSeconds, waitSeconds } = options;
    const waitMs = waitSeconds === undefined ? undefined : waitSeconds * 1000;
    return this.#send("assignKey", { ...options, waitMs, query: { holdSeconds, waitSeconds } });
  }

  /**
   * Assigns a key and holds it: the returned `Lease` keeps it alive and renews its block in the
   * background until `release()` or the end of an `await using` scope. Use the lease's `signal`,
   * `"lost"` event or `onLost` to learn if it is lost.
   */
  async acquire(options: AcquireOptions = {}): Promise<Lease> {
    const assignment = await this.assign(options);
    const lease = new Lease(this.#leaseCalls(), assignment, this.#timers, options);
    if (options.keepAlive === false) return lease;
    try {
      await lease.start();
    } catch (error) {
      await lease.release().catch(() => undefined); // best effort; the block expires by itself anyway
      throw error;
    }
    return lease;
  }

  /**
   * Calls an upstream with a key from the pool and tells the pool how it went: acquires a lease
   * (waiting up to `waitSeconds` for a free key), calls `fn(key, lease)`, and reports the outcome its
   * `Response` shows (`lease.report`), releasing the key in the same call. A 429 cools the key down
   * for the upstream's own wait, a 401/403 disables it, a 5xx counts an error against it; after a
   * 429 or 401/403, `fn` is called again with another key, up to `attempts` keys in all. Resolves with
   * the upstream's (last) answer, its body unread; a discarded answer's body is cancelled. When no key
   * is free for another attempt, resolves with the answer it has.
   *
   * If `fn` throws, the key is released with nothing reported (a throw is no answer from the
   * upstream: the caller's own failure, a network error or an abort says nothing against the key),
   * and the error is thrown on. The key is released as soon as `fn` resolves: its answer's body, read
   * after, is no longer covered by the lease.
   */
  async withKey(fn: KeyedCall, options: WithKeyOptions = {}): Promise<Response> {
    const { attempts = DEFAULT_WITH_KEY_ATTEMPTS, onReportError, ...acquiring } = options;
    if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError("attempts must be a whole number from 1");
    let lease = await this.acquire(acquiring);
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fn(lease.key, lease);
      } catch (error) {
        await lease.release().catch(() => false); // best effort: the block ends by itself anyway
        throw error;
      }
      await this.#reportFor(lease, response, onReportError);
      const outcome = outcomeOf(response.status);
      if (attempt >= attempts || (outcome !== "rate_limited" && outcome !== "unauthorized")) return response;
      const next = await this.#nextLease(acquiring, response);
      if (next === null) return response;
      await response.body?.cancel().catch(() => undefined);
      lease = next;
    }
  }

  /** `GET /keys/{id}`: a free key's value (if the pool shows them), or your own held key's with its `leaseToken`. */
  getKey(keyId: string, options: HolderOptions = {}): Promise<KeyValue> {
    return this.#send("getKey", { ...options, keyId });
  }

  /** `GET /keys/{id}/info`: state and deadlines, never the value. */
  info(keyId: string, options: CallOptions = {}): Promise<KeyInfo> {
    return this.#send("getKeyInfo", { ...options, keyId });
  }

  /**
   * `DELETE /keys/{id}`. A delete that had to be sent again and then finds no key resolves as
   * deleted: the earlier attempt whose answer was lost most likely deleted it.
   */
  async deleteKey(keyId: string, options: CallOptions = {}): Promise<Deleted> {
    try {
      return await this.#send<Deleted>("deleteKey", { ...options, keyId });
    } catch (error) {
      if (error instanceof KeyPoolError && error.status === 404 && error.attempts > 1) {
        return { keyId, deleted: true };
      }
      throw error;
    }
  }

  /** `PUT /keys/{id}`: the raw update (`{"blocked"}` with an optional `"lease"`, or `{"label"}` alone). */
  update(keyId: string, body: UpdateBody, options: HolderOptions = {}): Promise<BlockResult> {
    return this.#send("updateKey", { ...options, keyId, body });
  }

  /** Blocks a free key (answers its lease), or with `lease`, renews the holder's block. */
  block(keyId: string, options: HolderOptions = {}): Promise<BlockResult> {
    return this.update(keyId, { blocked: true, lease: options.lease }, options);
  }

  /** Unblocks a key; with `lease`, only if it is still the holder's. */
  unblock(keyId: string, options: HolderOptions = {}): Promise<BlockResult> {
    return this.update(keyId, { blocked: false, lease: options.lease }, options);
  }

  /** `PUT /keys/{id} {"label"}` (admin): sets the key's label (1-128 characters), or with `null` removes it. */
  setLabel(keyId: string, label: string | null, options: CallOptions = {}): Promise<KeyInfo> {
    return this.update(keyId, { label }, options);
  }

  /**
   * `POST /keys/{id}/report`: what the upstream answered the key's holder. As the holder, pass the
   * block's `leaseToken` (`lease.report` does it for you); an admin may report on any key without it.
   * `rate_limited` ends the block and cools the key down (for `retryAfterSeconds`, else the pool's
   * `cooldownSeconds`; never shortening a cooldown), `unauthorized` ends it and disables the key,
   * `error` counts a failure (at `maxFailures` the key cools down), `ok` forgets them; `release` with
   * `ok` or `error` releases the key.
   */
  reportKey(keyId: string, report: ReportBody, options: Omit<HolderOptions, "lease"> = {}): Promise<KeyInfo> {
    return this.#send("reportKey", { ...options, keyId, body: report });
  }

  /**
   * `PUT /keys/{id} {"disabled": true}` (admin): the key is never handed out until enabled; a block on
   * it ends (its holder's lease is lost at its next renewal).
   */
  disableKey(keyId: string, options: CallOptions = {}): Promise<KeyInfo> {
    return this.update(keyId, { disabled: true }, options);
  }

  /** `PUT /keys/{id} {"disabled": false}` (admin): a disabled key is free again, its failures forgotten. */
  enableKey(keyId: string, options: CallOptions = {}): Promise<KeyInfo> {
    return this.update(keyId, { disabled: false }, options);
  }

  /** `PUT /keys/{id}/alive`: the key lives another KEY_TTL; with `lease`, only for the holder. */
  keepAlive(keyId: string, options: HolderOptions = {}): Promise<KeyInfo> {
    return this.#send("keepAlive", { ...options, keyId, query: { lease: options.lease } });
  }

  /** `GET /pools/{pool}` (admin): key counts, event counters and settings of the client's pool. */
  poolStats(options: CallOptions = {}): Promise<PoolStats> {
    return this.#send("getPool", options);
  }

  /** `GET /pools/{pool}/list` (admin): one page of keys, never their values; pass `cursor` on. */
  listKeys(query: ListQuery = {}, options: CallOptions = {}): Promise<KeyPage> {
    return this.#send("listKeys", { ...options, query: { ...query } });
  }

  /**
   * `GET /pools/{pool}/audit` (admin): a page of the pool's audit trail, newest first; pass `cursor`
   * as `after` for the next (older) page. "Who held key X at time T": `{ keyId, until: T }`.
   */
  audit(query: AuditQuery = {}, options: CallOptions = {}): Promise<AuditPage> {
    return this.#send("getAudit", { ...options, query: { ...query } });
  }

  /** `PUT /pools/{pool}/settings` (admin): the pool's TTLs, who sees values, whether keys expire (`null` restores the default). */
  updateSettings(patch: SettingsPatch, options: CallOptions = {}): Promise<PoolSettings> {
    return this.#send("updatePoolSettings", { ...options, body: patch });
  }

  /** `GET /pools` (admin): every pool by name with its key counts, a page at a time; pass `cursor` on. */
  listPools(query: PoolListQuery = {}, options: CallOptions = {}): Promise<PoolPage> {
    return this.#send("listPools", { ...options, query: { ...query } });
  }

  /** `GET /pools/{pool}/metrics` (admin): the client's pool's numbers in the Prometheus text format. */
  poolMetrics(options: CallOptions = {}): Promise<string> {
    return this.#send("getPoolMetrics", options);
  }

  /** `GET /metrics` (admin): every pool's numbers in the Prometheus text format, up to 1,000 pools a page. */
  metrics(query: PoolListQuery = {}, options: CallOptions = {}): Promise<string> {
    return this.#send("getMetrics", { ...options, query: { ...query } });
  }

  /** `DELETE /pools/{pool}` (admin): deletes the client's pool with all its keys; it no longer exists. */
  retirePool(options: CallOptions = {}): Promise<{ pool: string; retired: true }> {
    return this.#send("retirePool", options);
  }

  #leaseCalls(): LeaseCalls {
    return {
      keepAlive: (keyId, holder) => this.keepAlive(keyId, holder),
      renew: (keyId, holder) => this.block(keyId, holder),
      release: (keyId, holder) => this.unblock(keyId, holder),
      report: (keyId, holder, report) => this.reportKey(keyId, report, { leaseToken: holder.leaseToken }),
      info: (keyId) => this.info(keyId),
    };
  }

  /** Reports what `response` shows and releases the key; a failed report hides no answer (see `onReportError`). */
  async #reportFor(lease: Lease, response: Response, onReportError: WithKeyOptions["onReportError"]): Promise<void> {
    if (lease.state !== "held") return; // fn released or reported it itself, or it was lost
    try {
      await lease.report(response, { release: true });
    } catch (error) {
      if (lease.state !== "held") return; // lost: its "lost" event told
      onReportError?.(error, lease);
      await lease.release().catch(() => false);
    }
  }

  /**
   * The lease for another attempt, or null when no key is free (404) or too many wait for one (429):
   * the caller then gets the answer it has. Any other failure is thrown, `discarded`'s body cancelled.
   */
  async #nextLease(options: AcquireOptions, discarded: Response): Promise<Lease | null> {
    try {
      return await this.acquire(options);
    } catch (error) {
      if (error instanceof KeyPoolError && (error.status === 404 || error.status === 429)) return null;
      await discarded.body?.cancel().catch(() => undefined);
      throw error;
    }
  }

  #send<T>(operationId: Parameters<typeof send>[1], input: CallInput): Promise<T> {
    return send<T>(this.#config, operationId, input);
  }
}
