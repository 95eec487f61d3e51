import { DurableObject } from "cloudflare:workers";
import { clock } from "./clock";
import { configOf } from "./config";
import { log, logError } from "./log";
import { type Outcome, ok, refuse } from "./outcome";
import { EFFECTS, type PoolEvent } from "./pool/events";
import { decide, IDEMPOTENCY_TTL_MS, type IdempotencyToken } from "./pool/idempotency";
import { DEFAULT_LIST_LIMIT, MAX_BULK_CREATE, MAX_LIST_LIMIT } from "./pool/limits";
import { type ListPosition, type ListState, listed, positionAfter } from "./pool/listing";
import type { KeyRecord, PoolTimings } from "./pool/rules";
import * as rules from "./pool/rules";
import * as settings from "./pool/settings";
import {
  type Assignment,
  type BlockResult,
  iso,
  type KeyInfo,
  type KeyValue,
  type ListedKey,
  type PoolStats,
  toInfo,
} from "./pool/views";
import { AlarmSchedule } from "./storage/alarm";
import { IdempotencyStore } from "./storage/idempotency-store";
import { KeyListing } from "./storage/key-listing";
import { KeyStore, type StoredKey } from "./storage/key-store";
import { migrate } from "./storage/migrations";
import { PoolSettingsStore } from "./storage/pool-settings";
import { PoolStatsStore } from "./storage/pool-stats";
import { CountedSql } from "./storage/sql";

/** Due deadlines one alarm run handles before it re-arms itself to go on. */
export const ALARM_BATCH = 250;
/** Overdue deadlines a request settles first, in case the alarm is late. */
const SETTLE_BATCH = 64;
/** Random draws an assignment makes among the free keys before it looks a live key up by index. */
const ASSIGN_MAX_DRAWS = 64;

export interface CreateOptions {
  /** Do it at most once for this key: a repeat answers the first outcome. */
  readonly idempotency?: IdempotencyToken | undefined;
}

export interface AssignOptions extends CreateOptions {
  /** Block for this many whole seconds (MIN_HOLD_SECONDS..MAX_HOLD_SECONDS) instead of the pool's block time. */
  readonly holdSeconds?: number | undefined;
}

export interface KeyPage {
  readonly keys: ListedKey[];
  /** Where the next page starts, or null after the last page. */
  readonly next: ListPosition | null;
}

/** What an object is made of, for a test running inside it: see `KeyPool.internals`. */
export interface PoolInternals {
  readonly db: CountedSql;
  readonly keys: KeyStore;
  readonly idempotency: IdempotencyStore;
  readonly alarm: AlarmSchedule;
}

/**
 * One pool of keys. Owns the pool's SQLite database and its alarm; the rules live in `pool/` and the
 * queries in `storage/`. Every method runs synchronously against storage, so each call is one atomic
 * step with no interleaving, and every passed deadline is treated as fired even if the alarm that
 * fires it has not run yet. Its public methods are exactly its RPC surface: everything else is `#private`.
 */
export class KeyPool extends DurableObject<Env> {
  /** The one way to SQLite: every store queries through it, so its counts are all of them. */
  readonly #db: CountedSql;
  readonly #keys: KeyStore;
  readonly #listing: KeyListing;
  readonly #stats: PoolStatsStore;
  readonly #settings: PoolSettingsStore;
  readonly #idempotency: IdempotencyStore;
  readonly #alarm: AlarmSchedule;
  /** The [vars] timings, and those in force: the defaults with this pool's settings applied. */
  readonly #defaults: PoolTimings;
  #timings: PoolTimings;
  /** The longest hold an assignment may ask for (MAX_HOLD_SECONDS). */
  readonly #maxHoldMs: number;
  /**
   * The pool's name for log lines: the name the Worker passed to `getByName`, which the runtime also
   * gives an object that wakes up for an alarm; an id made otherwise falls back to its hex form.
   */
  readonly #name: string;
  /** Why this object must not touch its storage (a database newer than this code), if it must not. */
  #unusable: Error | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = configOf(env);
    this.#db = new CountedSql(ctx.storage.sql);
    this.#keys = new KeyStore(this.#db);
    this.#listing = new KeyListing(this.#db);
    this.#stats = new PoolStatsStore(this.#db);
    this.#settings = new PoolSettingsStore(this.#db);
    this.#idempotency = new IdempotencyStore(this.#db);
    this.#alarm = new AlarmSchedule(ctx.storage, () =>
      earliest(this.#keys.earliestDeadline(), this.#idempotency.earliestExpiry()),
    );
    this.#defaults = config.timings;
    this.#timings = config.timings;
    this.#maxHoldMs = config.maxHoldMs;
    this.#name = ctx.id.name ?? ctx.id.toString();
    // Before any request: bring the database to this code's layout, in one transaction.
    ctx.blockConcurrencyWhile(async () => {
      try {
        ctx.storage.transactionSync(() => migrate(this.#db));
      } catch (error) {
        this.#unusable = error instanceof Error ? error : new Error(String(error));
        logError({ event: "storage_refused", pool: this.#name, error: this.#unusable.message });
        return;
      }
      this.#timings = settings.effectiveTimings(this.#defaults, this.#settings.read());
      this.#alarm.started(await ctx.storage.getAlarm());
    });
  }

  /**
   * Test seam: the parts an object is made of, for a test running inside it (`runInDurableObject`).
   * Static, so no stub can call it: the RPC surface stays exactly the public methods below.
   */
  static internals(pool: KeyPool): PoolInternals {
    return { db: pool.#db, keys: pool.#keys, idempotency: pool.#idempotency, alarm: pool.#alarm };
  }

  /** Creates `count` free keys in one transaction and returns their ids; with an idempotency key, at most once. */
  create(count: number, options: CreateOptions = {}): Outcome<string[]> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_BULK_CREATE) {
      throw new RangeError(`count must be an integer from 1 to ${MAX_BULK_CREATE}`);
    }
    return this.#transaction((now) => this.#once(options.idempotency, now, () => ok(this.#insertKeys(count, now))));
  }

  /**
   * Blocks a key chosen uniformly at random among the free ones and hands it out, for the pool's
   * block time or the hold asked for; with an idempotency key, at most once.
   */
  assign(options: AssignOptions = {}): Outcome<Assignment> {
    const holdMs = rules.holdFor(options.holdSeconds, this.#timings, this.#maxHoldMs);
    if (holdMs === null) throw new RangeError("holdSeconds must be a whole number from 1 to MAX_HOLD_SECONDS");
    return this.#transaction((now) => this.#once(options.idempotency, now, () => this.#pick(now, holdMs)));
  }

  /** The key's value, if the key exists and is not blocked. Changes nothing. */
  reveal(keyId: string): Outcome<KeyValue> {
    const current = this.#current(keyId);
    if (current === null) return refuse("not_found");
    if (current.block !== null) return refuse("blocked");
    return ok({ keyId: current.keyId, key: current.key });
  }

  info(keyId: string): Outcome<KeyInfo> {
    const current = this.#current(keyId);
    return current === null ? refuse("not_found") : ok(toInfo(current));
  }

  remove(keyId: string): Outcome<{ keyId: string }> {
    return this.#change(keyId, (stored) => {
      this.#keys.delete(stored.record.keyId);
      this.#record("deleted", [stored.record.keyId]);
      return ok({ keyId: stored.record.keyId });
    });
  }

  /**
   * Blocks or unblocks a key. With `lease`, only the current holder may act: unblocking releases
   * its block, blocking renews it. Without `lease`, blocking a key somebody holds is refused.
   */
  setBlocked(keyId: string, blocked: boolean, lease?: number): Outcome<BlockResult> {
    return this.#change(keyId, (stored, current, now) => {
      if (rules.leaseMismatch(current, lease) !== null) return refuse("lease_conflict");
      if (!blocked) {
        const next = rules.unblock(current);
        this.#save(stored, next, now);
        if (current.block !== null) this.#record("unblocked", [keyId]);
        return ok(toInfo(next));
      }
      if (current.block !== null && lease === undefined) return refuse("held");
      // A lease that passed the guard is the current block's: renew it with the hold it was given.
      const next = rules.isBlocked(current)
        ? rules.renew(current, now)
        : rules.block(current, now, this.#keys.nextLease(), this.#timings);
      this.#save(stored, next, now);
      this.#alarm.armAtMost(rules.nextDeadline(next));
      if (current.block === null) this.#record("blocked", [keyId]);
      return ok({ ...toInfo(next), lease: next.block.lease });
    });
  }

  /** Keep-alive: the key lives another full TTL from now, blocked or not. */
  keepAlive(keyId: string, lease?: number): Outcome<KeyInfo> {
    return this.#change(keyId, (stored, current, now) => {
      if (rules.leaseMismatch(current, lease) !== null) return refuse("lease_conflict");
      const next = rules.keepAlive(current, now, this.#timings);
      this.#save(stored, next, now);
      return ok(toInfo(next));
    });
  }

  /**
   * Counts, counters and settings. Overdue deadlines are settled first, in a bounded batch as for an
   * assignment, so the counts agree with what every read answers; only when more than that batch is
   * overdue (a mass expiry the alarm is still draining) do they still include the rest for a moment.
   */
  poolStats(): PoolStats {
    return this.#transaction((now) => {
      this.#applyDue(now, SETTLE_BATCH);
      const { total, counters } = this.#stats.read();
      const free = this.#keys.freeCount();
      return { keys: { total, free, blocked: total - free }, counters, settings: settings.toSettings(this.#timings) };
    });
  }

  /** One page of keys of `state` after `after`, never their values; overdue deadlines are settled first. */
  listKeys(state: ListState, limit = DEFAULT_LIST_LIMIT, after: ListPosition | null = null): KeyPage {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    }
    if (after !== null && after.state !== state) throw new RangeError("the position is for another state");
    return this.#transaction((now) => {
      this.#applyDue(now, SETTLE_BATCH);
      // One row past the page tells whether another page follows.
      const rows = this.#listing.page(state, after, limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const keys = page.map((row) => listed(row, now, state)).filter((key) => key !== null);
      return { keys, next: rows.length > limit && last !== undefined ? positionAfter(last, state) : null };
    });
  }

  /**
   * Changes this pool's timings. They apply to deadlines set from now on (creations, keep-alives,
   * blocks); deadlines already set stay as they are, so no key's expiry or release moves.
   */
  updateSettings(patch: settings.SettingsPatch): settings.PoolSettings {
    return this.#transaction(() => {
      const overrides = settings.applyPatch(this.#settings.read(), patch);
      const timings = settings.effectiveTimings(this.#defaults, overrides);
      this.#settings.write(overrides);
      const changed = settings.timingsDiffer(timings, this.#timings);
      this.#timings = timings;
      const current = settings.toSettings(timings);
      if (changed) log({ event: "settings_changed", pool: this.#name, ...current });
      return current;
    });
  }

  /** Fires every due deadline in bounded batches, then re-arms for the next one. Idempotent. */
  override async alarm(): Promise<void> {
    this.#alarm.fired();
    const more = this.#transaction((now) => {
      const left = this.#applyDue(now, ALARM_BATCH);
      const answersLeft = this.#idempotency.deleteDue(now, ALARM_BATCH) === ALARM_BATCH;
      return left.expiriesLeft || left.releasesLeft || answersLeft;
    });
    // Yield between batches so requests are answered while a mass expiry drains.
    if (more) this.#alarm.arm(clock.now());
    else await this.#alarm.rearm();
  }

  /** Runs `work` in one transaction at one moment; refused outright when the storage is not ours to touch. */
  #transaction<T>(work: (now: number) => T): T {
    if (this.#unusable !== null) throw this.#unusable;
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => work(now));
  }

  #insertKeys(count: number, now: number): string[] {
    const records = Array.from({ length: count }, () =>
      rules.createKey(crypto.randomUUID(), crypto.randomUUID(), now, this.#timings),
    );
    const ids = records.map((record) => record.keyId);
    this.#keys.insertFree(records);
    this.#record("created", ids);
    this.#alarm.armAtMost(now + this.#timings.keyTtlMs);
    return ids;
  }

  /** Blocks a uniformly drawn free key for `holdMs`. Runs inside the caller's transaction. */
  #pick(now: number, holdMs: number): Outcome<Assignment> {
    const { releasesLeft } = this.#applyDue(now, SETTLE_BATCH);
    for (let draw = 0; draw < ASSIGN_MAX_DRAWS; draw++) {
      const stored = this.#drawFree(now, releasesLeft);
      if (stored === null) return refuse("none_free");
      const current = rules.settle(stored.record, now);
      if (current !== null) return ok(this.#grant(stored, current, now, holdMs));
      // Expired, and more overdue than the settle batch covered: drop it and draw again.
      this.#keys.delete(stored.record.keyId);
      this.#record("expired", [stored.record.keyId]);
    }
    // Every draw hit an expired key: the alarm is still draining a mass expiry. Deleting them all
    // here would make this one request do the alarm's work; look a live key up by index instead.
    const stored = this.#keys.latestAvailable(now);
    const current = stored === null ? null : rules.settle(stored.record, now);
    return stored === null || current === null ? refuse("none_free") : ok(this.#grant(stored, current, now, holdMs));
  }

  /**
   * A key drawn uniformly among the free ones, or null if none is. Free includes keys whose block is
   * due but not yet released: when more are due than one settle batch covers (a late alarm), the draw
   * counts them on the release index instead of releasing them all in this request. Expired keys
   * may still be drawn; the caller drops them and draws again, which keeps the draw uniform.
   */
  #drawFree(now: number, releasesLeft: boolean): StoredKey | null {
    const free = this.#keys.freeCount();
    const overdue = releasesLeft ? this.#keys.countDueReleases(now) : 0;
    if (free + overdue === 0) return null;
    const index = rules.uniformIndex(free + overdue, randomWord);
    const stored = index < free ? this.#keys.freeKeyAt(index) : this.#keys.dueReleaseAt(now, index - free);
    if (stored === null) throw new Error(`free keys are inconsistent: nothing at draw ${index} of ${free}+${overdue}`);
    return stored;
  }

  /** Blocks `current` (the settled form of `stored`) for `holdMs` under a new lease and hands it out. */
  #grant(stored: StoredKey, current: KeyRecord, now: number, holdMs: number): Assignment {
    const blocked = rules.block(current, now, this.#keys.nextLease(), this.#timings, holdMs);
    this.#save(stored, blocked, now);
    this.#alarm.armAtMost(rules.nextDeadline(blocked));
    this.#record("assigned", [blocked.keyId]);
    const { lease, releaseAt } = blocked.block;
    return { keyId: blocked.keyId, key: blocked.key, lease, releaseAt: iso(releaseAt) };
  }

  /**
   * Runs `work` at most once per idempotency key, inside the caller's transaction: a repeat of the
   * same request answers the recorded outcome (refusals too) without doing anything, the same key
   * with another request is refused. Without a key, it simply runs `work`.
   */
  #once<T>(token: IdempotencyToken | undefined, now: number, work: () => Outcome<T>): Outcome<T> {
    if (token === undefined) return work();
    const decision = decide(this.#idempotency.get(token.keyHash), token.requestHash, now);
    if (decision.kind === "replay") return JSON.parse(decision.outcome) as Outcome<T>;
    if (decision.kind === "mismatch") return refuse("idempotency_mismatch");
    const outcome = work();
    const expiresAt = now + IDEMPOTENCY_TTL_MS;
    this.#idempotency.put(token.keyHash, {
      requestHash: token.requestHash,
      expiresAt,
      outcome: JSON.stringify(outcome),
    });
    this.#alarm.armAtMost(expiresAt);
    return outcome;
  }

  /** The key as it stands now, passed deadlines applied, without writing anything. */
  #current(keyId: string): KeyRecord | null {
    if (this.#unusable !== null) throw this.#unusable;
    if (!rules.isKeyId(keyId)) return null;
    const stored = this.#keys.get(keyId);
    return stored === null ? null : rules.settle(stored.record, clock.now());
  }

  /** Runs `change` on a live key in one transaction; an expired key is deleted on the way and is not found. */
  #change<T>(keyId: string, change: (stored: StoredKey, current: KeyRecord, now: number) => Outcome<T>): Outcome<T> {
    if (!rules.isKeyId(keyId)) return refuse("not_found");
    return this.#transaction((now) => {
      const stored = this.#keys.get(keyId);
      if (stored === null) return refuse("not_found");
      const current = rules.settle(stored.record, now);
      if (current === null) {
        this.#keys.delete(keyId);
        this.#record("expired", [keyId]);
        return refuse("not_found");
      }
      return change(stored, current, now);
    });
  }

  /**
   * Writes up to `limit` due deadlines to storage, expiries first, each kind in one set-based
   * statement, so a run's cost is bounded by `limit` keys however many are due; says which kinds may
   * have more due. Safe to repeat: each step reads the current rows, so a retried or duplicated alarm
   * changes nothing.
   */
  #applyDue(now: number, limit: number): { expiriesLeft: boolean; releasesLeft: boolean } {
    const due = this.#keys.due(now);
    const expired = due.expiries ? this.#keys.deleteExpired(now, limit) : [];
    this.#record("expired", expired);
    const releaseLimit = limit - expired.length;
    const released = due.releases && releaseLimit > 0 ? this.#keys.releaseDue(now, releaseLimit) : [];
    this.#record("released", released);
    return { expiriesLeft: expired.length === limit, releasesLeft: due.releases && released.length === releaseLimit };
  }

  /**
   * Writes `next` over `stored`. A stored block whose time was up ends here if no alarm ended it
   * before, so this is where it is counted (and logged) as released, exactly once.
   */
  #save(stored: StoredKey, next: KeyRecord, now: number): void {
    this.#keys.save(stored, next);
    if (stored.record.block !== null && rules.isBlockDue(stored.record.block, now))
      this.#record("released", [next.keyId]);
  }

  /**
   * Counts `event` for `keyIds` and logs it as one entry (pool and key ids only, never values). Called
   * in the transaction that made the change, so counters never drift from the keys.
   */
  #record(event: PoolEvent, keyIds: readonly string[]): void {
    const [only] = keyIds;
    if (only === undefined) return;
    const { counter, keys } = EFFECTS[event];
    this.#stats.add(counter, keys, keyIds.length);
    log(
      keyIds.length === 1
        ? { event, pool: this.#name, keyId: only }
        : { event, pool: this.#name, count: keyIds.length, keyIds },
    );
  }
}

/** The earlier of two optional deadlines. */
function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

/** A uniform 32-bit word from the platform's cryptographic generator. */
function randomWord(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}
