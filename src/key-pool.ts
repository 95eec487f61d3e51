import { DurableObject } from "cloudflare:workers";
import { clock } from "./clock";
import { configOf } from "./config";
import { Pool, type PoolStores } from "./key-pool/pool";
import { log, logError } from "./log";
import type { Outcome } from "./outcome";
import { ok, refuse } from "./outcome";
import type { IdempotencyToken } from "./pool/idempotency";
import { DEFAULT_LIST_LIMIT, MAX_BULK_CREATE, MAX_LIST_LIMIT } from "./pool/limits";
import type { ListPosition, ListState, Page } from "./pool/listing";
import type { Claim, PoolTimings } from "./pool/rules";
import * as rules from "./pool/rules";
import type { PoolSettings, SettingsPatch } from "./pool/settings";
import type { BlockChange, Grant, KeyInfo, KeyValue, PoolStats } from "./pool/views";
import { DIRECTORY_NAME, type PoolDirectory } from "./pool-directory";
import { AlarmSchedule } from "./storage/alarm";
import { IdempotencyStore } from "./storage/idempotency-store";
import { KeyListing } from "./storage/key-listing";
import { KeyStore } from "./storage/key-store";
import { migrate, storedVersion } from "./storage/migrations";
import { PoolSettingsStore } from "./storage/pool-settings";
import { CountedSql } from "./storage/sql";

/** Due deadlines one alarm run handles before it re-arms itself to go on. */
export const ALARM_BATCH = 250;

export interface CreateOptions {
  /** Do it at most once for this key: a repeat answers the first outcome. */
  readonly idempotency?: IdempotencyToken | undefined;
}

export interface AssignOptions extends CreateOptions {
  /** Block for this many whole seconds (MIN_HOLD_SECONDS..MAX_HOLD_SECONDS) instead of the pool's block time. */
  readonly holdSeconds?: number | undefined;
  /**
   * The new block's holder secret, as the Worker made it: its SHA-256 (all the pool keeps) and, for
   * an idempotent call, the secret sealed for the replay (only that caller's retry can unseal it).
   * Without one, the block has no holder secret: only an admin may end or renew it early.
   */
  readonly holder?: { readonly digest: Uint8Array; readonly sealed?: string | undefined };
}

/** What an object is made of, for a test running inside it: see `KeyPool.internals`. */
export interface PoolInternals extends PoolStores {
  readonly db: CountedSql;
}

/**
 * One pool of keys, as a Durable Object: its public methods are exactly its RPC surface (everything
 * else is `#private`). Each call runs synchronously in one transaction at one moment, so it is one
 * atomic step with no interleaving; what it does is `Pool`'s (key-pool/pool.ts), over the rules in
 * `pool/` and the stores in `storage/`. The object owns the database's layout (migrated before
 * anything is served) and its alarm.
 */
export class KeyPool extends DurableObject<Env> {
  /** The one way to SQLite: every store queries through it, so its counts are all of them. */
  readonly #db: CountedSql;
  readonly #stores: PoolStores;
  /** The longest hold an assignment may ask for (MAX_HOLD_SECONDS). */
  readonly #maxHoldMs: number;
  /** Set once the database is at this code's layout; null while the pool does not exist. */
  #pool: Pool | null = null;
  readonly #defaults: PoolTimings;
  /** The pool's name, for log lines. */
  readonly #name: string;
  /** Why this object must not touch its storage (a database newer than this code), if it must not. */
  #unusable: Error | null = null;
  /** The making of the pool under way, so that concurrent first calls make it once. */
  #making: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = configOf(env);
    this.#db = new CountedSql(ctx.storage.sql);
    const keys = new KeyStore(this.#db);
    const idempotency = new IdempotencyStore(this.#db);
    const alarm = new AlarmSchedule(ctx.storage, () => earliest(keys.earliestDeadline(), idempotency.earliestExpiry()));
    const settings = new PoolSettingsStore(this.#db);
    this.#stores = { keys, listing: new KeyListing(this.#db), settings, idempotency, alarm };
    this.#maxHoldMs = config.maxHoldMs;
    this.#defaults = config.timings;
    // The name the Worker passed to `getByName`, which the runtime also gives an object woken for its
    // alarm; an id made otherwise (never by KeyPool's Worker) falls back to its hex form.
    this.#name = ctx.id.name ?? ctx.id.toString();
    // Before any request: bring an existing pool's database to this code's layout, in one transaction.
    // A pool that does not exist yet is left empty: nothing is written until an admin makes it.
    ctx.blockConcurrencyWhile(async () => {
      if (storedVersion(this.#db) === 0) return;
      try {
        ctx.storage.transactionSync(() => migrate(this.#db));
      } catch (error) {
        this.#unusable = error instanceof Error ? error : new Error(String(error));
        logError({ event: "storage_refused", pool: this.#name, error: this.#unusable.message });
        return;
      }
      this.#pool = new Pool(this.#stores, this.#defaults, this.#name);
      alarm.started(await ctx.storage.getAlarm());
    });
  }

  /**
   * Test seam: the parts an object is made of, for a test running inside it (`runInDurableObject`).
   * Static, so no stub can call it: the RPC surface stays exactly the public methods below.
   */
  static internals(pool: KeyPool): PoolInternals {
    return { db: pool.#db, ...pool.#stores };
  }

  /**
   * Creates `count` free keys in one transaction and returns their ids; with an idempotency key, at
   * most once. Makes the pool if it does not exist yet.
   */
  async create(count: number, options: CreateOptions = {}): Promise<Outcome<string[]>> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_BULK_CREATE) {
      throw new RangeError(`count must be an integer from 1 to ${MAX_BULK_CREATE}`);
    }
    await this.#make();
    return this.#transaction((pool, now) => pool.once(options.idempotency, now, () => ok(pool.create(now, count))));
  }

  /**
   * Blocks a key chosen uniformly at random among the free ones and hands it out, for the pool's
   * block time or the hold asked for; with an idempotency key, at most once.
   */
  assign(options: AssignOptions = {}): Outcome<Grant> {
    const timings = this.#existing()?.timings;
    if (timings === undefined) return refuse("no_such_pool");
    const holdMs = rules.holdFor(options.holdSeconds, timings, this.#maxHoldMs);
    if (holdMs === null) throw new RangeError("holdSeconds must be a whole number from 1 to MAX_HOLD_SECONDS");
    const { digest = null, sealed } = options.holder ?? {};
    return this.#transaction((pool, now) => {
      const outcome = pool.once(options.idempotency, now, () => pool.assign(now, holdMs, digest, sealed));
      return options.idempotency === undefined ? outcome : pool.replayed(now, outcome);
    });
  }

  /** The key's value, to its holder, or to anyone while it is free if the pool allows. Changes nothing. */
  reveal(keyId: string, claim: Claim = { admin: false }): Outcome<KeyValue> {
    return this.#read((pool, now) => pool.reveal(now, keyId, claim));
  }

  /** The key's state and deadlines, never its value. Changes nothing. */
  info(keyId: string): Outcome<KeyInfo> {
    return this.#read((pool, now) => pool.info(now, keyId));
  }

  remove(keyId: string): Outcome<{ keyId: string }> {
    return this.#transaction((pool, now) => pool.remove(now, keyId));
  }

  /**
   * Blocks or unblocks a key, as its holder (proven by `claim`) or as an admin; a block it starts
   * is for the holder whose secret has `newHolder` as its digest.
   */
  setBlocked(keyId: string, blocked: boolean, claim: Claim, newHolder?: Uint8Array): Outcome<BlockChange> {
    return this.#transaction((pool, now) => pool.setBlocked(now, keyId, blocked, claim, newHolder));
  }

  /** Keep-alive: the key lives another full TTL from now, blocked or not; as its holder, if `claim` says so. */
  keepAlive(keyId: string, claim: Claim = { admin: false }): Outcome<KeyInfo> {
    return this.#transaction((pool, now) => pool.keepAlive(now, keyId, claim));
  }

  /** Counts, counters and settings (`GET /pools/{pool}`). */
  poolStats(): Outcome<PoolStats> {
    return this.#transaction((pool, now) => ok(pool.stats(now)));
  }

  /** One page of keys of `state` after `after`, never their values. */
  listKeys(state: ListState, limit = DEFAULT_LIST_LIMIT, after: ListPosition | null = null): Outcome<Page> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    }
    if (after !== null && after.state !== state) throw new RangeError("the position is for another state");
    return this.#transaction((pool, now) => ok(pool.list(now, state, limit, after)));
  }

  /** Changes this pool's settings (timings for deadlines set from now on). Makes the pool if it does not exist yet. */
  async updateSettings(patch: SettingsPatch): Promise<PoolSettings> {
    await this.#make();
    const settings = this.#transaction((pool) => ok(pool.updateSettings(patch)));
    if (!settings.ok) throw new Error("the pool was just made");
    return settings.value;
  }

  /** Fires every due deadline in bounded batches, then re-arms for the next one. Idempotent. */
  override async alarm(): Promise<void> {
    const { alarm, idempotency } = this.#stores;
    alarm.fired();
    const more = this.#transaction((pool, now) => {
      const left = pool.applyDue(now, ALARM_BATCH);
      const answersLeft = idempotency.deleteDue(now, ALARM_BATCH) === ALARM_BATCH;
      return ok(left.expiriesLeft || left.releasesLeft || answersLeft);
    });
    // Yield between batches so requests are answered while a mass expiry drains.
    if (more.ok && more.value) alarm.arm(clock.now());
    else if (more.ok) await alarm.rearm();
  }

  /** Runs `work` on the pool in one transaction at one moment; refused when the pool does not exist. */
  #transaction<T>(work: (pool: Pool, now: number) => Outcome<T>): Outcome<T> {
    const pool = this.#existing();
    if (pool === null) return refuse("no_such_pool");
    const now = clock.now();
    try {
      return this.ctx.storage.transactionSync(() => work(pool, now));
    } catch (error) {
      // SQLite rolled the change back; what the key store keeps in memory may still show it.
      this.#stores.keys.forget();
      throw error;
    }
  }

  /** Runs `work`, which only reads, at one moment (SQLite runs each of its statements on its own). */
  #read<T>(work: (pool: Pool, now: number) => Outcome<T>): Outcome<T> {
    const pool = this.#existing();
    return pool === null ? refuse("no_such_pool") : work(pool, clock.now());
  }

  /** The pool, or null when it does not exist; refused outright when its storage is not ours to touch. */
  #existing(): Pool | null {
    if (this.#unusable !== null) throw this.#unusable;
    return this.#pool;
  }

  /**
   * Retires the pool: every key, setting and idempotency answer is deleted with the whole database,
   * the alarm is cleared, and the pool leaves the directory. Its name may be made again; nothing of
   * the pool before comes back.
   */
  async retire(): Promise<Outcome<{ pool: string }>> {
    if (this.#existing() === null) return refuse("no_such_pool");
    this.#pool = null;
    this.#stores.keys.forget();
    this.#stores.alarm.fired();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    await this.#directory().unregister(this.#name);
    log({ event: "pool_retired", pool: this.#name });
    return ok({ pool: this.#name });
  }

  /**
   * Makes the pool if it does not exist yet: it registers in the directory first (so a pool never
   * exists where the Worker cannot find it), then its database is brought to this code's layout in
   * one transaction. A registration that fails fails the call, and nothing is made.
   */
  async #make(): Promise<void> {
    if (this.#existing() !== null) return;
    this.#making ??= this.#directory()
      .register(this.#name)
      .then(() => {
        this.ctx.storage.transactionSync(() => migrate(this.#db));
        this.#pool ??= new Pool(this.#stores, this.#defaults, this.#name);
      })
      .finally(() => {
        this.#making = null;
      });
    await this.#making;
  }

  #directory(): DurableObjectStub<PoolDirectory> {
    return this.env.POOL_DIRECTORY.getByName(DIRECTORY_NAME);
  }
}

/** The earlier of two optional deadlines. */
function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}
