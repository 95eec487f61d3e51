import { KeyPoolError } from "./errors.js";
import { deadlinesFrom, firstDeadline, type LeaseDeadlines, renewalTimes } from "./schedule.js";
import type { Timers } from "./timers.js";
import type { Assignment, BlockResult, KeyInfo, ReportBody, ReportOutcome } from "./types.js";
import { reportOf } from "./upstream.js";

/** What proves a lease's holder: its fencing number and its secret. */
export interface HolderProof {
  readonly lease: number;
  readonly leaseToken: string;
}

/** The calls a lease makes, each as the holder. */
export interface LeaseCalls {
  keepAlive(keyId: string, holder: HolderProof): Promise<KeyInfo>;
  renew(keyId: string, holder: HolderProof): Promise<BlockResult>;
  release(keyId: string, holder: HolderProof): Promise<BlockResult>;
  report(keyId: string, holder: HolderProof, report: ReportBody): Promise<KeyInfo>;
  info(keyId: string): Promise<KeyInfo>;
}

export interface LeaseReportOptions {
  /**
   * The upstream's own wait, in seconds (0 to a day): the key cools this long instead of the pool's
   * `cooldownSeconds`. Given a `Response`, `report` reads it from its headers unless this is set.
   */
  readonly retryAfterSeconds?: number | undefined;
  /** With `ok` or `error`: release the key in the same call (the lease is over then). */
  readonly release?: boolean | undefined;
}

/** `released`: by `release()`, or by a `report()` that ended the block. `lost`: taken from the holder. */
export type LeaseState = "held" | "lost" | "released";

/** Dispatched (type `"lost"`) when the lease is lost: renewal stopped and the key must not be used. */
export class LeaseLostEvent extends Event {
  constructor(readonly error: KeyPoolError) {
    super("lost");
  }
}

export interface LeaseOptions {
  /** Renew the block and keep the key alive in the background (default true). */
  readonly keepAlive?: boolean;
  /** Called once if the lease is lost; the same as listening for the `"lost"` event. */
  readonly onLost?: (error: KeyPoolError, lease: Lease) => void;
}

/** Least wait before trying a failed renewal again, so a run of failures never spins. */
const RETRY_FLOOR_MS = 100;

/**
 * A key held by this caller. In the background it keeps the key alive and renews its block before
 * either deadline passes; `release()` (or leaving an `await using` scope) unblocks it with the lease,
 * and `report()` tells the pool what the upstream answered (which may end the block too). If a
 * renewal shows the lease is gone (404 or 409: the key was deleted, taken over, or cooled down or
 * disabled by someone else's report or an admin; or no renewal succeeded before a deadline), it
 * stops, aborts `signal`, and dispatches a `"lost"` event: never silently.
 */
export class Lease extends EventTarget implements AsyncDisposable {
  readonly keyId: string;
  /** The block's fencing number, for upstream services that fence stale writers. */
  readonly lease: number;

  /** The key value: behind a getter, so logging or serializing the lease never shows it. */
  readonly #key: string;
  readonly #calls: LeaseCalls;
  /** The holder secret: kept here only, sent as a header, never logged or exposed. */
  readonly #proof: HolderProof;
  readonly #timers: Timers;
  readonly #background: boolean;
  readonly #aborter = new AbortController();
  #releaseAt: string;
  #expiresAt: string | null | undefined;
  #state: LeaseState = "held";
  #error: KeyPoolError | undefined;
  #deadlines: LeaseDeadlines | undefined;
  #timer: unknown;
  /** Renewals run one at a time, background and manual alike. */
  #queue: Promise<unknown> = Promise.resolve();
  #released: Promise<boolean> | undefined;

  /** Made by `KeyPoolClient.acquire`. */
  constructor(calls: LeaseCalls, assignment: Assignment, timers: Timers, options: LeaseOptions = {}) {
    super();
    this.keyId = assignment.keyId;
    this.#key = assignment.key;
    this.lease = assignment.lease;
    this.#proof = { lease: assignment.lease, leaseToken: assignment.leaseToken };
    this.#releaseAt = assignment.releaseAt;
    this.#calls = calls;
    this.#timers = timers;
    this.#background = options.keepAlive ?? true;
    const { onLost } = options;
    if (onLost !== undefined) {
      // A block body: a listener that returns a value (say, onLost's `array.push`) makes workerd warn
      // "An event handler returned a value ... that will be ignored".
      this.addEventListener(
        "lost",
        (event) => {
          onLost((event as LeaseLostEvent).error, this);
        },
        { once: true },
      );
    }
  }

  /** The key value, generated or imported: a secret. */
  get key(): string {
    return this.#key;
  }

  /** When the block ends unless renewed (ISO-8601, server time). */
  get releaseAt(): string {
    return this.#releaseAt;
  }

  /**
   * When the key expires unless kept alive (ISO-8601, server time), once a keep-alive has told; null
   * in a pool whose keys do not expire.
   */
  get expiresAt(): string | null | undefined {
    return this.#expiresAt;
  }

  get state(): LeaseState {
    return this.#state;
  }

  /** Why the lease was lost, once it is. */
  get error(): KeyPoolError | undefined {
    return this.#error;
  }

  /**
   * Aborted when the lease is lost (reason: the error), released, or ended by a report: hand it to
   * work that uses the key (not to a `fetch` whose body is read after the lease ends).
   */
  get signal(): AbortSignal {
    return this.#aborter.signal;
  }

  /**
   * Keeps the key alive and renews its block now. Background renewal does this by itself; call it
   * when `keepAlive` is off. Throws the error if it fails; a 404/409 also marks the lease lost.
   */
  renew(): Promise<void> {
    return this.#serial(async () => {
      await this.#keepAlive();
      await this.#renewBlock();
    });
  }

  /**
   * Tells the pool what the upstream answered the key's holder (`POST /keys/{id}/report`, as the
   * holder). Given the upstream's `Response`, reads its status and retry hints (`upstream.ts`:
   * 429 is `rate_limited`, 401/403 `unauthorized`, 5xx `error`, anything else `ok`; `Retry-After` and
   * the `x-ratelimit-reset*` fields give the wait), never its body. Resolves with the key's state.
   *
   * A report that ends the block ends the lease, as `release()` does (state `"released"`, renewals
   * stopped, `signal` aborted): `rate_limited` (the key cools down), `unauthorized` (it is disabled),
   * an `error` that reached the pool's `maxFailures` (it cools down), and `ok` or `error` with
   * `release`. `release()` after it sends nothing and resolves true. A report sent again after a lost
   * answer that then finds the block gone (409) is taken as the earlier attempt's doing.
   */
  report(outcome: ReportOutcome | Response, options: LeaseReportOptions = {}): Promise<KeyInfo> {
    const read = typeof outcome === "string" ? { outcome } : reportOf(outcome, this.#timers.now());
    const retryAfterSeconds = options.retryAfterSeconds ?? read.retryAfterSeconds;
    const releases = options.release === true && (read.outcome === "ok" || read.outcome === "error");
    const body: ReportBody = { outcome: read.outcome };
    if (retryAfterSeconds !== undefined) body.retryAfterSeconds = retryAfterSeconds;
    if (releases) body.release = true;
    const endsBlock = releases || read.outcome === "rate_limited" || read.outcome === "unauthorized";
    return this.#serial(async () => {
      let info: KeyInfo;
      try {
        info = await this.#calls.report(this.keyId, this.#proof, body);
      } catch (error) {
        // Only a lease loss ends the lease: a refused report (a 400, say) leaves the key held.
        if (!(error instanceof KeyPoolError && error.isLeaseLoss)) throw error;
        if (error.attempts === 1 || this.#state !== "held") {
          this.#lose(error);
          throw error;
        }
        // Sent again after a lost answer: the first attempt most likely ended the block itself.
        this.#endByReport();
        return await this.#calls.info(this.keyId);
      }
      // An error report that reached maxFailures cooled the key: the answer shows the block gone.
      if (endsBlock || info.state !== "blocked") this.#endByReport();
      return info;
    });
  }

  /**
   * Unblocks the key with the lease and stops renewing. Resolves true when this released it (or a
   * report of this lease ended its block), false when it was no longer held (lost, expired, or
   * released already by an earlier attempt whose answer was lost). Safe to call more than once.
   */
  release(): Promise<boolean> {
    this.#released ??= this.#release();
    return this.#released;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** Starts holding: the first keep-alive now (it also learns both deadlines), then the background loop. */
  async start(): Promise<void> {
    await this.#serial(() => this.#keepAlive());
    this.#schedule();
  }

  async #release(): Promise<boolean> {
    if (this.#state === "lost") return false;
    this.#end("The lease was released");
    try {
      await this.#calls.release(this.keyId, this.#proof);
      return true;
    } catch (error) {
      if (error instanceof KeyPoolError && error.isLeaseLoss) return false;
      throw error;
    }
  }

  async #keepAlive(): Promise<void> {
    const sentAt = this.#timers.now();
    const info = await this.#asHolder(() => this.#calls.keepAlive(this.keyId, this.#proof));
    this.#learn(info, info.lastActivity, sentAt);
  }

  async #renewBlock(): Promise<void> {
    const sentAt = this.#timers.now();
    const info = await this.#asHolder(() => this.#calls.renew(this.keyId, this.#proof));
    if (info.blockedAt !== null) this.#learn(info, info.blockedAt, sentAt);
  }

  /** Runs a holder's call; an answer that the lease is gone marks it lost before the error goes on. */
  async #asHolder<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof KeyPoolError && isFatal(error)) this.#lose(error);
      throw error;
    }
  }

  #learn(info: KeyInfo, serverNow: string, sentAt: number): void {
    if (this.#state !== "held") return; // an answer that arrived after release: nothing to learn
    const deadlines = deadlinesFrom(info, serverNow, sentAt);
    if (deadlines === null) {
      this.#lose(new KeyPoolError(409, "Lease lost: the key is no longer blocked"));
      return;
    }
    this.#deadlines = deadlines;
    this.#releaseAt = info.releaseAt ?? this.#releaseAt;
    this.#expiresAt = info.expiresAt;
    this.dispatchEvent(new Event("renew"));
  }

  #schedule(delayMs?: number): void {
    this.#stopTimer();
    if (this.#state !== "held" || !this.#background || this.#deadlines === undefined) return;
    const { renewBlockAt, keepAliveAt } = renewalTimes(this.#deadlines);
    const wait = delayMs ?? Math.max(0, Math.min(renewBlockAt, keepAliveAt) - this.#timers.now());
    this.#timer = this.#timers.setTimeout(() => this.#tick(), wait);
  }

  /** One background round: whatever renewal is due, then the next round. */
  #tick(): Promise<void> {
    this.#timer = undefined;
    return this.#serial(async () => {
      const deadlines = this.#deadlines;
      if (this.#state !== "held" || deadlines === undefined) return;
      const now = this.#timers.now();
      const { renewBlockAt, keepAliveAt } = renewalTimes(deadlines);
      try {
        if (now >= keepAliveAt) await this.#keepAlive();
        if (now >= renewBlockAt) await this.#renewBlock();
        this.#schedule();
      } catch (error) {
        if (this.#state !== "held") return; // lost (already reported) or released meanwhile
        const after = this.#timers.now();
        const deadline = firstDeadline(deadlines);
        if (after >= deadline) {
          this.#lose(
            new KeyPoolError(0, `Lease lost: no renewal succeeded before its deadline (${describe(error)})`, {
              cause: error,
            }),
          );
          return;
        }
        // The call already retried with backoff; try again well before the deadline.
        this.#schedule(Math.max(RETRY_FLOOR_MS, (deadline - after) / 3));
      }
    });
  }

  #endByReport(): void {
    if (this.#state !== "held") return;
    this.#end("The lease ended with a report");
    this.#released ??= Promise.resolve(true);
  }

  /** The holder ended the lease (a release, or a report that ended the block): nothing runs for it any more. */
  #end(why: string): void {
    if (this.#state !== "held") return;
    this.#state = "released";
    this.#stopTimer();
    this.#aborter.abort(new DOMException(why, "AbortError"));
  }

  #lose(error: KeyPoolError): void {
    if (this.#state !== "held") return;
    this.#state = "lost";
    this.#error = error;
    this.#stopTimer();
    this.#aborter.abort(error);
    this.dispatchEvent(new LeaseLostEvent(error));
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** An answer no retry will change: the lease is gone (404/409) or the call itself is refused (400/401/403). */
function isFatal(error: KeyPoolError): boolean {
  return error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
