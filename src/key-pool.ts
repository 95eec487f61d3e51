import { DurableObject } from "cloudflare:workers";
import { clock } from "./clock";
import { parseMaxHoldMs, parseTimings } from "./pool/config";
import { EFFECTS, eventLog, type PoolEvent } from "./pool/events";
import { decide, IDEMPOTENCY_TTL_MS, type IdempotencyToken } from "./pool/idempotency";
import {
  type ListedKey,
  type ListPosition,
  type ListState,
  listed,
  MAX_LIST_LIMIT,
  positionAfter,
} from "./pool/listing";
import { type Outcome, ok, refuse } from "./pool/outcome";
import {
  block,
  createKey,
  holdFor,
  isBlockDue,
  isBlocked,
  iso,
  type KeyInfo,
  type KeyRecord,
  keepAlive,
  leaseMismatch,
  MAX_BULK_CREATE,
  nextDeadline,
  type PoolTimings,
  renew,
  settle,
  toInfo,
  unblock,
  uniformIndex,
} from "./pool/rules";
import { applyPatch, effectiveTimings, type PoolSettings, type SettingsPatch, toSettings } from "./pool/settings";
import { isUuid } from "./pool/uuid";
import { CountedSql } from "./storage/counted-sql";
import { IdempotencyStore } from "./storage/idempotency-store";
import { KeyListing } from "./storage/key-listing";
import { KeyStore, type StoredKey } from "./storage/key-store";
import { PoolSettingsStore } from "./storage/pool-settings";
import { PoolStatsStore, type StoredStats } from "./storage/pool-stats";

/** Due deadlines one alarm run handles before it re-arms itself to go on. */
export const ALARM_BATCH = 250;
/** Overdue deadlines an assignment settles first, in case the alarm is late. */
const ASSIGN_SETTLE_BATCH = 64;
/** Random draws an assignment makes among the free slots before it looks a live key up by index. */
const ASSIGN_MAX_DRAWS = 64;

export interface Assignment {
  readonly keyId: string;
  readonly key: string;
  readonly lease: number;
  readonly releaseAt: string;
}

/** The info view, plus the lease when the call itself blocked or renewed the key. */
export type BlockResult = KeyInfo & { readonly lease?: number };

export interface AssignOptions {
  /** Block for this many whole seconds (1..MAX_HOLD_SECONDS) instead of the pool's block time. */
  readonly holdSeconds?: number | undefined;
  /** Do it at most once for this key: a repeat answers the first outcome. */
  readonly idempotency?: IdempotencyToken | undefined;
}

/** What `GET /pools/{pool}` shows, but the pool's name. */
export interface PoolStats {
  readonly keys: { readonly total: number; readonly free: number; readonly blocked: number };
  readonly counters: StoredStats["counters"];
  readonly settings: PoolSettings;
}

export interface KeyPage {
  readonly keys: ListedKey[];
  /** Where the next page starts, or null after the last page. */
  readonly next: ListPosition | null;
}

/**
 * One pool of keys. Owns the pool's SQLite database and its alarm; the rules themselves live in
 * `pool/rules.ts`. Every method runs synchronously against storage, so each call is one atomic
 * step with no interleaving, and every passed deadline is treated as fired even if the alarm that
 * fires it has not run yet.
 */
export class KeyPool extends DurableObject<Env> {
  /** The object's one way to SQLite: every store below queries through it, so its row totals are all of them. */
  private readonly db: CountedSql;
  private readonly store: KeyStore;
  /** Operator statistics, settings and listings (`/pools/{pool}`), apart from the hot key queries. */
  private readonly stats: PoolStatsStore;
  private readonly settingsStore: PoolSettingsStore;
  private readonly listing: KeyListing;
  /** Answers kept for `Idempotency-Key` replays. */
  private readonly answers: IdempotencyStore;
  /** The [vars] timings, and those in force: the defaults with this pool's settings applied. */
  private readonly defaults: PoolTimings;
  private timings: PoolTimings;
  /** The longest hold an assignment may ask for (MAX_HOLD_SECONDS). */
  private readonly maxHoldMs: number;
  /**
   * The pool's name for log lines. `ctx.id.name` is the name the Worker passed to `getByName`, also
   * when the object wakes up for an alarm with no request, so no call needs to carry it and nothing
   * is stored; an id made otherwise (never by KeyPool's Worker) falls back to its hex form.
   */
  private readonly poolName: string;
  /** The alarm time this object last armed, so it only writes one when the earliest deadline moves earlier. */
  private armedAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = new CountedSql(ctx.storage.sql);
    this.store = new KeyStore(this.db);
    this.store.ensureSchema();
    this.stats = new PoolStatsStore(this.db);
    this.settingsStore = new PoolSettingsStore(this.db);
    this.listing = new KeyListing(this.db);
    this.answers = new IdempotencyStore(this.db);
    this.defaults = parseTimings(env);
    this.timings = effectiveTimings(this.defaults, this.settingsStore.read());
    this.maxHoldMs = parseMaxHoldMs(env);
    this.poolName = ctx.id.name ?? ctx.id.toString();
    ctx.blockConcurrencyWhile(async () => {
      this.armedAt = await ctx.storage.getAlarm();
    });
  }

  /** Creates `count` free keys in one transaction and returns their ids. */
  create(count: number): string[] {
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => this.insertKeys(count, now));
  }

  /** `create`, done at most once per idempotency key; the key reused for another request is refused. */
  createOnce(count: number, idempotency: IdempotencyToken): Outcome<string[]> {
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => this.once(idempotency, now, () => ok(this.insertKeys(count, now))));
  }

  /**
   * Blocks a key chosen uniformly at random among the free ones and hands it out, for the pool's
   * block time or the hold asked for; with an idempotency key, at most once.
   */
  assign(options: AssignOptions = {}): Outcome<Assignment> {
    const holdMs = holdFor(options.holdSeconds, this.timings, this.maxHoldMs);
    if (holdMs === null) throw new RangeError("holdSeconds must be a whole number from 1 to MAX_HOLD_SECONDS");
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => this.once(options.idempotency, now, () => this.pick(now, holdMs)));
  }

  private insertKeys(count: number, now: number): string[] {
    if (!Number.isInteger(count) || count < 1 || count > MAX_BULK_CREATE) {
      throw new RangeError(`count must be an integer from 1 to ${MAX_BULK_CREATE}`);
    }
    const records = Array.from({ length: count }, () =>
      createKey(crypto.randomUUID(), crypto.randomUUID(), now, this.timings),
    );
    const ids = records.map((record) => record.keyId);
    this.store.insertFree(records);
    this.record("created", ids);
    this.armAtMost(now + this.timings.keyTtlMs);
    return ids;
  }

  /** Blocks a uniformly drawn free key for `holdMs`. Runs inside the caller's transaction. */
  private pick(now: number, holdMs: number): Outcome<Assignment> {
    const { releasesLeft } = this.settleDue(now, ASSIGN_SETTLE_BATCH);
    for (let draw = 0; draw < ASSIGN_MAX_DRAWS; draw++) {
      const stored = this.drawFree(now, releasesLeft);
      if (stored === null) return refuse("none_free");
      const current = settle(stored.record, now);
      if (current !== null) return ok(this.grant(stored, current, now, holdMs));
      // Expired, and more overdue than the settle batch covered: drop it and draw again.
      this.store.delete(stored.record.keyId);
      this.record("expired", [stored.record.keyId]);
    }
    // Every draw hit an expired key: the alarm is still draining a mass expiry. Deleting them all
    // here would make this one request do the alarm's work; look a live key up by index instead.
    const stored = this.store.latestAvailable(now);
    const current = stored === null ? null : settle(stored.record, now);
    return stored === null || current === null ? refuse("none_free") : ok(this.grant(stored, current, now, holdMs));
  }

  /**
   * A key drawn uniformly among the free ones, or null if none is. Free includes keys whose block is
   * due but not yet released: when more are due than one settle batch covers (a late alarm), the draw
   * counts them on the release index instead of releasing them all in this request. Expired keys
   * may still be drawn; the caller drops them and draws again, which keeps the draw uniform.
   */
  private drawFree(now: number, releasesLeft: boolean): StoredKey | null {
    const free = this.store.freeCount();
    const overdue = releasesLeft ? this.store.countDueReleases(now) : 0;
    if (free + overdue === 0) return null;
    const index = uniformIndex(free + overdue, randomWord);
    const stored = index < free ? this.store.freeKeyAt(index) : this.store.dueReleaseAt(now, index - free);
    if (stored === null) throw new Error(`free keys are inconsistent: nothing at draw ${index} of ${free}+${overdue}`);
    return stored;
  }

  /** The key's value, if the key exists and is not blocked. Changes nothing. */
  reveal(keyId: string): Outcome<{ keyId: string; key: string }> {
    const current = this.read(keyId);
    if (current === null) return refuse("not_found");
    if (current.block !== null) return refuse("blocked");
    return ok({ keyId: current.keyId, key: current.key });
  }

  info(keyId: string): Outcome<KeyInfo> {
    const current = this.read(keyId);
    return current === null ? refuse("not_found") : ok(toInfo(current));
  }

  remove(keyId: string): Outcome<{ keyId: string }> {
    return this.mutate(keyId, (stored) => {
      this.store.delete(stored.record.keyId);
      this.record("deleted", [stored.record.keyId]);
      return ok({ keyId: stored.record.keyId });
    });
  }

  /**
   * Blocks or unblocks a key. With `lease`, only the current holder may act: unblocking releases
   * its block, blocking renews it. Without `lease`, blocking a key somebody holds is refused.
   */
  setBlocked(keyId: string, blocked: boolean, lease?: number): Outcome<BlockResult> {
    return this.mutate(keyId, (stored, current, now) => {
      if (leaseMismatch(current, lease) !== null) return refuse("lease_conflict");
      if (!blocked) {
        const next = unblock(current);
        this.save(stored, next, now);
        if (current.block !== null) this.record("unblocked", [keyId]);
        return ok(toInfo(next));
      }
      if (current.block !== null && lease === undefined) return refuse("held");
      // A lease that passed the guard is the current block's: renew it with the hold it was given.
      const next = isBlocked(current) ? renew(current, now) : block(current, now, this.store.nextLease(), this.timings);
      this.save(stored, next, now);
      this.armAtMost(nextDeadline(next));
      if (current.block === null) this.record("blocked", [keyId]);
      return ok({ ...toInfo(next), lease: next.block.lease });
    });
  }

  /** Keep-alive: the key lives another full TTL from now, blocked or not. */
  keepAlive(keyId: string, lease?: number): Outcome<KeyInfo> {
    return this.mutate(keyId, (stored, current, now) => {
      if (leaseMismatch(current, lease) !== null) return refuse("lease_conflict");
      const next = keepAlive(current, now, this.timings);
      this.save(stored, next, now);
      return ok(toInfo(next));
    });
  }

  /**
   * Counts, counters and settings. Overdue deadlines are settled first, in a bounded batch as for an
   * assignment, so the counts agree with what every read answers; only when more than that batch is
   * overdue (a mass expiry the alarm is still draining) do they still include the rest for a moment.
   */
  poolStats(): PoolStats {
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => {
      this.settleDue(now, ASSIGN_SETTLE_BATCH);
      const { total, counters } = this.stats.read();
      const free = this.store.freeCount();
      return { keys: { total, free, blocked: total - free }, counters, settings: toSettings(this.timings) };
    });
  }

  /** One page of keys of `state` after `after`, never their values; overdue deadlines are settled first. */
  listKeys(state: ListState, limit: number, after: ListPosition | null): KeyPage {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    }
    if (after !== null && after.state !== state) throw new RangeError("the position is for another state");
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => {
      this.settleDue(now, ASSIGN_SETTLE_BATCH);
      // One row past the page tells whether another page follows.
      const rows = this.listing.page(state, after, limit + 1);
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
  updateSettings(patch: SettingsPatch): PoolSettings {
    const overrides = applyPatch(this.settingsStore.read(), patch);
    const timings = effectiveTimings(this.defaults, overrides);
    this.settingsStore.write(overrides);
    const changed = timings.keyTtlMs !== this.timings.keyTtlMs || timings.blockTtlMs !== this.timings.blockTtlMs;
    this.timings = timings;
    const settings = toSettings(timings);
    if (changed) console.log({ event: "settings_changed", pool: this.poolName, ...settings });
    return settings;
  }

  /** Fires every due deadline in bounded batches, then re-arms for the next one. Idempotent. */
  override async alarm(): Promise<void> {
    this.armedAt = null; // this alarm is spent; whatever follows must be armed anew
    const now = clock.now();
    const more = this.ctx.storage.transactionSync(() => {
      const left = this.settleDue(now, ALARM_BATCH);
      const answersLeft = this.answers.deleteDue(now, ALARM_BATCH) === ALARM_BATCH;
      return left.expiriesLeft || left.releasesLeft || answersLeft;
    });
    if (more) {
      // Yield between batches so requests are answered while a mass expiry drains.
      this.arm(now);
      return;
    }
    const next = earliest(this.store.earliestDeadline(), this.answers.earliestExpiry());
    if (next === null) await this.ctx.storage.deleteAlarm();
    else this.arm(next);
  }

  /**
   * Runs `work` at most once per idempotency key, inside the caller's transaction: a repeat of the
   * same request answers the recorded outcome (refusals too) without doing anything, the same key
   * with another request is refused. Without a key, it simply runs `work`.
   */
  private once<T>(token: IdempotencyToken | undefined, now: number, work: () => Outcome<T>): Outcome<T> {
    if (token === undefined) return work();
    const decision = decide(this.answers.get(token.keyHash), token.requestHash, now);
    if (decision.kind === "replay") return JSON.parse(decision.outcome) as Outcome<T>;
    if (decision.kind === "mismatch") return refuse("idempotency_mismatch");
    const outcome = work();
    const expiresAt = now + IDEMPOTENCY_TTL_MS;
    this.answers.put(token.keyHash, { requestHash: token.requestHash, expiresAt, outcome: JSON.stringify(outcome) });
    this.armAtMost(expiresAt);
    return outcome;
  }

  /** Blocks `current` (the settled form of `stored`) for `holdMs` under a new lease and hands it out. */
  private grant(stored: StoredKey, current: KeyRecord, now: number, holdMs: number): Assignment {
    const blocked = block(current, now, this.store.nextLease(), this.timings, holdMs);
    this.save(stored, blocked, now);
    this.armAtMost(nextDeadline(blocked));
    this.record("assigned", [blocked.keyId]);
    const { lease, releaseAt } = blocked.block;
    return { keyId: blocked.keyId, key: blocked.key, lease, releaseAt: iso(releaseAt) };
  }

  /** The key as it stands now, passed deadlines applied, without writing anything. */
  private read(keyId: string): KeyRecord | null {
    if (!isUuid(keyId)) return null;
    const stored = this.store.get(keyId);
    return stored === null ? null : settle(stored.record, clock.now());
  }

  /** Runs `change` on a live key in one transaction; an expired key is deleted on the way and is not found. */
  private mutate<T>(
    keyId: string,
    change: (stored: StoredKey, current: KeyRecord, now: number) => Outcome<T>,
  ): Outcome<T> {
    if (!isUuid(keyId)) return refuse("not_found");
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => {
      const stored = this.store.get(keyId);
      if (stored === null) return refuse("not_found");
      const current = settle(stored.record, now);
      if (current === null) {
        this.store.delete(keyId);
        this.record("expired", [keyId]);
        return refuse("not_found");
      }
      return change(stored, current, now);
    });
  }

  /**
   * Applies up to `limit` due deadlines, expiries first, each kind in one set-based statement, so a
   * run's cost is bounded by `limit` keys however many are due; says which kinds may have more due.
   * Safe to repeat: each step reads the current rows, so a retried or duplicated alarm changes nothing.
   */
  private settleDue(now: number, limit: number): { expiriesLeft: boolean; releasesLeft: boolean } {
    const due = this.store.due(now);
    const expired = due.expiries ? this.store.deleteExpired(now, limit) : [];
    this.record("expired", expired);
    const releaseLimit = limit - expired.length;
    const released = due.releases && releaseLimit > 0 ? this.store.releaseDue(now, releaseLimit) : [];
    this.record("released", released);
    return { expiriesLeft: expired.length === limit, releasesLeft: due.releases && released.length === releaseLimit };
  }

  /**
   * Writes `next` over `stored`. A stored block whose time was up ends here if no alarm ended it
   * before, so this is where it is counted (and logged) as released, exactly once.
   */
  private save(stored: StoredKey, next: KeyRecord, now: number): void {
    this.store.save(stored, next);
    if (stored.record.block !== null && isBlockDue(stored.record.block, now)) this.record("released", [next.keyId]);
  }

  /**
   * Counts `event` for `keyIds` and logs it as one structured object (pool and key ids only, never
   * values). Called in the transaction that made the change, so counters never drift from the keys.
   */
  private record(event: PoolEvent, keyIds: readonly string[]): void {
    if (keyIds.length === 0) return;
    const { counter, keys } = EFFECTS[event];
    this.stats.add(counter, keys, keyIds.length);
    console.log(eventLog(this.poolName, event, keyIds));
  }

  /** Makes sure the alarm fires no later than `at`; writes only when that moves it earlier. */
  private armAtMost(at: number): void {
    if (this.armedAt !== null) {
      if (at < this.armedAt) this.arm(at);
      return;
    }
    // Nothing armed does not mean nothing is due: an alarm whose retries ran out leaves overdue work
    // in storage with no alarm, so arm for the earliest deadline stored, not only for this one.
    const stored = earliest(this.store.earliestDeadline(), this.answers.earliestExpiry());
    this.arm(stored === null ? at : Math.min(at, stored));
  }

  private arm(at: number): void {
    this.armedAt = at;
    void this.ctx.storage.setAlarm(at);
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
