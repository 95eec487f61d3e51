import type { Outcome } from "../outcome";
import type { Actor } from "../pool/audit";
import type { IdempotencyToken } from "../pool/idempotency";
import { hexOf } from "../storage/uuid";
import type { Handout } from "./pool";

/** An assignment as asked for: the hold, the new holder's digest and sealed secret, and its idempotency. */
export interface AssignRequest {
  readonly holdMs: number;
  readonly digest: Uint8Array | null;
  readonly sealed: string | undefined;
  readonly idempotency: IdempotencyToken | undefined;
  /** Who asked, for the audit trail. */
  readonly actor: Actor;
}

interface Waiter {
  readonly request: AssignRequest;
  readonly resolve: (outcome: Outcome<Handout>) => void;
  readonly reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The callers waiting for a key (`GET /keys?waitSeconds=N`), first come first served: a `Set` keeps
 * them in the order they came and lets one leave in O(1). They live in the object's memory only: a
 * restart of the object ends their calls (the Worker answers 503; a client retries, with its
 * `Idempotency-Key` getting the key it may have been given meanwhile).
 *
 * The object serves the line inside every transaction that may have freed a key, before the
 * transaction commits (so no newcomer can take the key first); the callers served learn it only once
 * that transaction has committed (`deliver`), or fail with it (`fail`).
 */
export class WaitingLine {
  readonly #waiting = new Set<Waiter>();
  /** The answer each idempotent caller waits for, by its key's digest: a retry waits for the same. */
  readonly #waitedFor = new Map<string, Promise<Outcome<Handout>>>();
  /** Callers served by the transaction under way, with their answers. */
  #served: Array<[Waiter, Outcome<Handout>]> = [];

  constructor(
    /** The most callers that may wait at once (MAX_WAITERS). */
    private readonly capacity: number,
  ) {}

  get size(): number {
    return this.#waiting.size;
  }

  /**
   * The answer a caller gets by waiting for up to `waitMs`: a key from `serve`, or, when the wait is
   * over, what `timedOut` answers (it gets `leave`, which takes the caller out of the line and says
   * whether it was still in it: a caller served meanwhile has its key). A caller waiting with the
   * `Idempotency-Key` of one already waiting gets that one's answer. Null when the line is full.
   */
  join(
    request: AssignRequest,
    waitMs: number,
    timedOut: (leave: () => boolean) => Outcome<Handout> | null,
  ): Promise<Outcome<Handout>> | null {
    const key = request.idempotency === undefined ? undefined : hexOf(request.idempotency.keyHash);
    const earlier = key === undefined ? undefined : this.#waitedFor.get(key);
    if (earlier !== undefined) return earlier;
    if (this.#waiting.size >= this.capacity) return null;
    const { promise, resolve, reject } = Promise.withResolvers<Outcome<Handout>>();
    const waiter: Waiter = { request, resolve, reject, timer: undefined };
    waiter.timer = setTimeout(() => {
      try {
        const outcome = timedOut(() => this.#waiting.delete(waiter));
        if (outcome !== null) resolve(outcome);
      } catch (error) {
        this.#waiting.delete(waiter);
        reject(error);
      }
    }, waitMs);
    this.#waiting.add(waiter);
    if (key !== undefined) {
      this.#waitedFor.set(key, promise);
      promise.then(
        () => this.#waitedFor.delete(key),
        () => this.#waitedFor.delete(key),
      );
    }
    return promise;
  }

  /**
   * Hands keys to the callers in the order they came, as long as `attempt` finds one for the first
   * still waiting; call inside the transaction that may have freed keys, then `deliver` after it.
   */
  serve(attempt: (request: AssignRequest) => Outcome<Handout>): void {
    for (const waiter of this.#waiting) {
      const outcome = attempt(waiter.request);
      if (!outcome.ok && (outcome.refusal === "none_free" || outcome.refusal === "value_key_missing")) return;
      this.#waiting.delete(waiter);
      clearTimeout(waiter.timer);
      this.#served.push([waiter, outcome]);
    }
  }

  /** The transaction committed: the callers it served get their keys. */
  deliver(): void {
    const served = this.#served;
    this.#served = [];
    for (const [waiter, outcome] of served) waiter.resolve(outcome);
  }

  /** The transaction failed: what it handed out was rolled back, and its callers' calls fail with it. */
  fail(error: unknown): void {
    const served = this.#served;
    this.#served = [];
    for (const [waiter] of served) waiter.reject(error);
  }
}
