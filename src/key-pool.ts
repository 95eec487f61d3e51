import { DurableObject } from "cloudflare:workers";
import { clock } from "./clock";
import { configOf } from "./config";
import { type Handout, Pool, type PoolStores } from "./key-pool/pool";
import { type ImportEntry, PoolValues } from "./key-pool/values";
import { type AssignRequest, WaitingLine } from "./key-pool/waiters";
import { errorText, log, logError } from "./log";
import type { Outcome } from "./outcome";
import { ok, refuse } from "./outcome";
import { type Actor, type AuditEntry, type AuditFilter, MAX_AUDIT_PAGE, SYSTEM, UNNAMED_ADMIN } from "./pool/audit";
import type { IdempotencyToken } from "./pool/idempotency";
import {
  DEFAULT_LIST_LIMIT,
  MAX_BULK_CREATE,
  MAX_COOLDOWN_SECONDS,
  MAX_LABEL_LENGTH,
  MAX_LIST_LIMIT,
  MAX_VALUE_BYTES,
} from "./pool/limits";
import type { ListPosition, ListState, Page } from "./pool/listing";
import type { Claim, PoolTimings } from "./pool/rules";
import * as rules from "./pool/rules";
import type { PoolSettings, SettingsPatch } from "./pool/settings";
import type { BlockChange, KeyInfo, KeyValue, OpenedGrant, PoolStats } from "./pool/views";
import { DIRECTORY_NAME, type PoolDirectory } from "./pool-directory";
import { AlarmSchedule } from "./storage/alarm";
import { AuditStore } from "./storage/audit-store";
import { IdempotencyStore } from "./storage/idempotency-store";
import { KeyListing } from "./storage/key-listing";
import { KeyStore } from "./storage/key-store";
import { migrate, storedVersion } from "./storage/migrations";
import { PoolMetaStore } from "./storage/pool-meta";
import { PoolSettingsStore } from "./storage/pool-settings";
import { CountedSql } from "./storage/sql";

/** Due deadlines one alarm run handles before it re-arms itself to go on. */
export const ALARM_BATCH = 250;
/** The waits before each new try at a failed registration in the directory (two more tries in all). */
export const REGISTER_RETRIES_MS = [50, 250] as const;

/** Who a call is for, in the audit trail: the role and token fingerprint the Worker found (an unnamed admin if none). */
export interface ActorOption {
  readonly actor?: Actor | undefined;
}

export interface OnceOptions extends ActorOption {
  /** Do it at most once for this key: a repeat answers the first outcome. */
  readonly idempotency?: IdempotencyToken | undefined;
}

export interface CreateOptions extends OnceOptions {
  /** A label for every key created. */
  readonly label?: string | undefined;
}

export interface AssignOptions extends OnceOptions {
  /** Block for this many whole seconds (MIN_HOLD_SECONDS..MAX_HOLD_SECONDS) instead of the pool's block time. */
  readonly holdSeconds?: number | undefined;
  /** When no key is free, wait for one for up to this many seconds (0..MAX_WAIT_SECONDS), first come first served. */
  readonly waitSeconds?: number | undefined;
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
  readonly meta: PoolMetaStore;
}

/**
 * A pass that seals every stored value under the sealing key (after a key is configured or rotated),
 * in key-id order, a batch per alarm run: where it is, and how many values it could not open.
 */
interface ResealPass {
  after: string | null;
  unopened: number;
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
  /** This pool's values and encryption keys; set before anything is served. */
  #values!: PoolValues;
  readonly #meta: PoolMetaStore;
  /** The sealing pass under way, if values wait to be sealed under the sealing key. */
  #reseal: ResealPass | null = null;
  /** Callers waiting for a key. */
  readonly #line: WaitingLine;
  /** The longest wait an assignment may ask for (MAX_WAIT_SECONDS), in milliseconds. */
  readonly #maxWaitMs: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = configOf(env);
    this.#db = new CountedSql(ctx.storage.sql);
    const keys = new KeyStore(this.#db);
    const idempotency = new IdempotencyStore(this.#db);
    const alarm = new AlarmSchedule(ctx.storage, () =>
      [
        keys.earliestDeadline(),
        idempotency.earliestExpiry(),
        this.#pool?.recorder.deadline() ?? null,
        this.#pendingWorkAt(),
      ].reduce(earliest, null),
    );
    const settings = new PoolSettingsStore(this.#db);
    this.#meta = new PoolMetaStore(this.#db);
    const audit = new AuditStore(this.#db);
    this.#stores = { keys, listing: new KeyListing(this.#db), settings, idempotency, audit, alarm };
    this.#maxHoldMs = config.maxHoldMs;
    this.#maxWaitMs = config.maxWaitMs;
    this.#line = new WaitingLine(config.maxWaiters);
    this.#defaults = config.timings;
    // The name the Worker passed to `getByName`, which the runtime also gives an object woken for its
    // alarm; an id made otherwise (never by KeyPool's Worker) falls back to its hex form.
    this.#name = ctx.id.name ?? ctx.id.toString();
    // Before any request: bring an existing pool's database to this code's layout, in one transaction.
    // A pool that does not exist yet is left empty: nothing is written until an admin makes it.
    ctx.blockConcurrencyWhile(async () => {
      this.#values = new PoolValues(this.#name, await config.valueKeys);
      if (storedVersion(this.#db) === 0) return;
      try {
        ctx.storage.transactionSync(() => migrate(this.#db));
      } catch (error) {
        this.#unusable = error instanceof Error ? error : new Error(String(error));
        logError({ event: "storage_refused", pool: this.#name, error: this.#unusable.message });
        return;
      }
      this.#pool = this.#newPool();
      alarm.started(await ctx.storage.getAlarm());
      const sealing = this.#values.vault.sealing;
      if (sealing !== null && this.#meta.sealedWith() !== sealing) {
        this.#reseal = { after: null, unopened: 0 };
        alarm.armAtMost(clock.now());
      }
    });
  }

  /**
   * Test seam: the parts an object is made of, for a test running inside it (`runInDurableObject`).
   * Static, so no stub can call it: the RPC surface stays exactly the public methods below.
   */
  static internals(pool: KeyPool): PoolInternals {
    return { db: pool.#db, meta: pool.#meta, ...pool.#stores };
  }

  /**
   * Creates `count` free keys in one transaction and returns their ids; with an idempotency key, at
   * most once. Makes the pool if it does not exist yet.
   */
  async create(count: number, options: CreateOptions = {}): Promise<Outcome<string[]>> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_BULK_CREATE) {
      throw new RangeError(`count must be an integer from 1 to ${MAX_BULK_CREATE}`);
    }
    checkLabel(options.label);
    await this.#make(options.actor);
    const keys = await this.#values.generated(count, options.label ?? null);
    return this.#transaction(
      (pool, now) =>
        pool.once(options.idempotency, now, () => {
          if (keys.some((key) => key.secret.sealedBy === null)) this.#meta.setSealedWith(null);
          return ok(pool.create(now, keys));
        }),
      options.actor,
    );
  }

  /**
   * Imports keys whose values the admin brings, in one transaction, and returns their ids in the
   * order given; refused when a value is in the pool already or twice in `entries`, and when no
   * encryption key is configured (nothing is made then). Makes the pool if it does not exist yet.
   */
  async importKeys(entries: readonly ImportEntry[], options: OnceOptions = {}): Promise<Outcome<string[]>> {
    if (entries.length < 1 || entries.length > MAX_BULK_CREATE) {
      throw new RangeError(`from 1 to ${MAX_BULK_CREATE} keys may be imported at once`);
    }
    for (const { key, label } of entries) {
      // The API checked the value's bytes; a string this long cannot have fewer.
      if (key.length < 1 || key.length > MAX_VALUE_BYTES)
        throw new RangeError(`a value is 1 to ${MAX_VALUE_BYTES} bytes`);
      checkLabel(label);
    }
    if (!this.#values.canImport) return refuse("no_encryption_key");
    await this.#make(options.actor);
    const prepared = await this.#values.imported(entries);
    return this.#transaction(
      (pool, now) => pool.once(options.idempotency, now, () => pool.importKeys(now, prepared)),
      options.actor,
    );
  }

  /**
   * Blocks a key chosen uniformly at random among the free ones and hands it out, for the pool's
   * block time or the hold asked for; with an idempotency key, at most once.
   */
  async assign(options: AssignOptions = {}): Promise<Outcome<OpenedGrant>> {
    const timings = this.#existing()?.timings;
    if (timings === undefined) return refuse("no_such_pool");
    const holdMs = rules.holdFor(options.holdSeconds, timings, this.#maxHoldMs);
    if (holdMs === null) throw new RangeError("holdSeconds must be a whole number from 1 to MAX_HOLD_SECONDS");
    const waitMs = (options.waitSeconds ?? 0) * 1000;
    if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > this.#maxWaitMs) {
      throw new RangeError("waitSeconds must be from 0 to MAX_WAIT_SECONDS");
    }
    const { digest = null, sealed } = options.holder ?? {};
    const actor = options.actor ?? UNNAMED_ADMIN;
    const request: AssignRequest = { holdMs, digest, sealed, idempotency: options.idempotency, actor };
    let handout = this.#transaction((pool, now) => {
      // Callers already waiting come first: a key freed by a deadline passing is theirs.
      this.#serveLine(pool, now);
      return this.#attempt(pool, now, request, waitMs > 0);
    }, actor);
    if (!handout.ok && handout.refusal === "none_free" && waitMs > 0) {
      handout = (await this.#line.join(request, waitMs, (leave) => this.#waitOver(request, leave))) ?? this.#full();
    }
    if (!handout.ok) return handout;
    const key = await this.#values.open(handout.value.value);
    if (!key.ok) return key;
    // The value right after the id, as the contract always answered it.
    const { keyId, ...rest } = handout.value.grant;
    return ok({ keyId, key: key.value, ...rest });
  }

  /**
   * The key's value: to its holder, or, for a generated key, to anyone while it is free if the pool
   * allows. Changes nothing.
   */
  async reveal(keyId: string, claim: Claim = { admin: false }): Promise<Outcome<KeyValue>> {
    const secret = this.#read((pool, now) => pool.reveal(now, keyId, claim));
    if (!secret.ok) return secret;
    const key = await this.#values.open(secret.value);
    return key.ok ? ok({ keyId: secret.value.keyId, key: key.value }) : key;
  }

  /**
   * What the upstream answered the key's holder (`rules.report`): as its holder, proven by `claim`,
   * or as an admin. A key a report frees goes to the longest-waiting caller at once.
   */
  report(keyId: string, claim: Claim, report: rules.Report, actor?: Actor): Outcome<KeyInfo> {
    if (!rules.REPORT_OUTCOMES.includes(report.outcome)) throw new RangeError(`no such outcome: ${report.outcome}`);
    const wait = report.retryAfterMs;
    if (wait !== undefined && !(Number.isFinite(wait) && wait >= 0 && wait <= MAX_COOLDOWN_SECONDS * 1000)) {
      throw new RangeError("retryAfterMs must be from 0 to a day");
    }
    return this.#transaction((pool, now) => pool.report(now, keyId, claim, report), actor);
  }

  /** An admin disables a key (never handed out until enabled; its block ends) or enables it again. */
  setDisabled(keyId: string, disabled: boolean, actor?: Actor): Outcome<KeyInfo> {
    return this.#transaction((pool, now) => pool.setDisabled(now, keyId, disabled), actor);
  }

  /** Sets a key's label (null: none). */
  relabel(keyId: string, label: string | null): Outcome<KeyInfo> {
    checkLabel(label ?? undefined);
    return this.#transaction((pool, now) => pool.relabel(now, keyId, label));
  }

  /** The key's state and deadlines, never its value. Changes nothing. */
  info(keyId: string): Outcome<KeyInfo> {
    return this.#read((pool, now) => pool.info(now, keyId));
  }

  remove(keyId: string, actor?: Actor): Outcome<{ keyId: string }> {
    return this.#transaction((pool, now) => pool.remove(now, keyId), actor);
  }

  /**
   * Blocks or unblocks a key, as its holder (proven by `claim`) or as an admin; a block it starts
   * is for the holder whose secret has `newHolder` as its digest.
   */
  setBlocked(
    keyId: string,
    blocked: boolean,
    claim: Claim,
    newHolder?: Uint8Array,
    actor?: Actor,
  ): Outcome<BlockChange> {
    return this.#transaction((pool, now) => pool.setBlocked(now, keyId, blocked, claim, newHolder), actor);
  }

  /** Keep-alive: the key lives another full TTL from now, blocked or not; as its holder, if `claim` says so. */
  keepAlive(keyId: string, claim: Claim = { admin: false }): Outcome<KeyInfo> {
    return this.#transaction((pool, now) => pool.keepAlive(now, keyId, claim));
  }

  /**
   * A page of the audit trail, newest first: of one key and a time range if asked, after a position
   * a previous page ended at. O(limit) whatever the trail's size. Changes nothing.
   */
  audit(filter: AuditFilter): Outcome<{ entries: AuditEntry[]; more: boolean }> {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_AUDIT_PAGE) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_AUDIT_PAGE}`);
    }
    if (filter.keyId !== undefined && !rules.isKeyId(filter.keyId)) return ok({ entries: [], more: false });
    return this.#read((pool) => ok(pool.recorder.page(filter)));
  }

  /** Counts, counters and settings (`GET /pools/{pool}`). */
  poolStats(): Outcome<PoolStats> {
    return this.#transaction((pool, now) => ok({ ...pool.stats(now), waiting: this.#line.size }));
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
  async updateSettings(patch: SettingsPatch, actor?: Actor): Promise<PoolSettings> {
    await this.#make(actor);
    const settings = this.#transaction((pool, now) => ok(pool.updateSettings(now, patch)), actor);
    if (!settings.ok) throw new Error("the pool was just made");
    return settings.value;
  }

  /**
   * Fires every due deadline in bounded batches, writes the expiries a `keysExpire` switch changed,
   * and seals values anew after the sealing key changed, a batch of each per run; then re-arms for
   * the next one. Idempotent.
   */
  override async alarm(): Promise<void> {
    const { alarm, idempotency } = this.#stores;
    // Until the run ends, the alarm counts as armed at the time it fired, so the deadlines the run writes
    // arm nothing (none is earlier): the run arms once, at its end, for whatever is left in storage.
    try {
      const more = this.#transaction((pool, now) => {
        const left = pool.applyDue(now, ALARM_BATCH);
        const answersLeft = idempotency.deleteDue(now, ALARM_BATCH) === ALARM_BATCH;
        const expiriesLeft = pool.expiriesToWrite() && pool.writeExpiries(ALARM_BATCH);
        const auditLeft = pool.recorder.prune(now, ALARM_BATCH);
        return ok(left.expiriesLeft || left.releasesLeft || answersLeft || expiriesLeft || auditLeft);
      }, SYSTEM);
      const resealing = more.ok && (await this.#resealBatch());
      alarm.fired();
      // Yield between batches so requests are answered while a mass expiry drains.
      if (more.ok && (more.value || resealing)) alarm.arm(clock.now());
      else if (more.ok) await alarm.rearm();
    } catch (error) {
      // The runtime retries a failed run; until then, the next change arms the alarm anew.
      alarm.fired();
      throw error;
    }
  }

  /**
   * Seals the next batch of values under the sealing key (those under another key it has, and those
   * stored as they are), each only if its row still holds the value read. Says whether more are left;
   * at the end of a pass that sealed every value, records that none waits any more.
   */
  async #resealBatch(): Promise<boolean> {
    const pass = this.#reseal;
    if (pass === null) return false;
    const rows = this.#stores.keys.valuesAfter(pass.after, ALARM_BATCH);
    const { values, unopened } = await this.#values.resealed(rows);
    pass.unopened += unopened;
    pass.after = rows.at(-1)?.keyId ?? pass.after;
    const done = rows.length < ALARM_BATCH;
    this.#transaction(() => {
      const stored = this.#stores.keys.resealed(values);
      if (stored > 0)
        log({ event: "values_sealed", pool: this.#name, count: stored, sealedBy: this.#values.vault.sealing });
      if (done && pass.unopened === 0) this.#meta.setSealedWith(this.#values.vault.sealing);
      return ok(null);
    });
    if (done) this.#reseal = null;
    return !done;
  }

  /** Now, when the alarm has work besides deadlines (expiries to write after a switch, values to seal), else null. */
  #pendingWorkAt(): number | null {
    return this.#reseal !== null || this.#pool?.expiriesToWrite() ? clock.now() : null;
  }

  /**
   * Runs `work` on the pool in one transaction at one moment; refused when the pool does not exist.
   * Whatever `work` frees goes to the callers waiting for a key, in the same transaction.
   */
  #transaction<T>(work: (pool: Pool, now: number) => Outcome<T>, actor: Actor = UNNAMED_ADMIN): Outcome<T> {
    const pool = this.#existing();
    if (pool === null) return refuse("no_such_pool");
    const now = clock.now();
    try {
      const outcome = this.ctx.storage.transactionSync(() => {
        const done = pool.recorder.as(actor, () => work(pool, now));
        if (this.#line.size > 0) this.#serveLine(pool, now);
        pool.recorder.commit(now);
        return done;
      });
      this.#line.deliver();
      return outcome;
    } catch (error) {
      // SQLite rolled the change back; what the stores keep in memory may still show it.
      this.#stores.keys.forget();
      this.#stores.audit.forget();
      this.#line.fail(error);
      throw error;
    }
  }

  /**
   * One try at an assignment, at most once per idempotency key. For a caller that waits (or will wait)
   * when no key is free, that answer is not recorded: only its key when served, or, when its wait is
   * over, the refusal `#waitOver` records.
   */
  #attempt(pool: Pool, now: number, request: AssignRequest, willWait: boolean): Outcome<Handout> {
    const { holdMs, digest, sealed, idempotency } = request;
    // A caller that waits is not told when a key may be free (`#waitOver` works it out if its wait ends).
    const assign = () => {
      const outcome = pool.assign(now, holdMs, digest, sealed);
      return willWait ? outcome : noneFreeUntil(pool, now, outcome);
    };
    if (idempotency === undefined) return assign();
    const recorded = pool.once(
      idempotency,
      now,
      () => {
        const outcome = assign();
        return outcome.ok ? ok(outcome.value.grant) : outcome;
      },
      (outcome) => !(willWait && !outcome.ok && outcome.refusal === "none_free"),
    );
    return pool.replayed(now, recorded);
  }

  /** Hands what is free to the callers waiting, in order, each recorded as its own actor. */
  #serveLine(pool: Pool, now: number): void {
    this.#line.serve((waiting) => pool.recorder.as(waiting.actor, () => this.#attempt(pool, now, waiting, true)));
  }

  /**
   * A caller's wait is over: one last chance to be served, then it leaves the line with no key (an
   * idempotent caller's answer recorded as such); null when it was served after all.
   */
  #waitOver(request: AssignRequest, leave: () => boolean): Outcome<Handout> | null {
    let served = true;
    const outcome = this.#transaction((pool, now) => {
      this.#serveLine(pool, now);
      served = !leave();
      const none = noneFreeUntil(pool, now, refuse("none_free"));
      if (served || request.idempotency === undefined) return none;
      return pool.once(request.idempotency, now, () => none);
    }, request.actor);
    return served ? null : (outcome as Outcome<Handout>);
  }

  /** The answer to a caller who finds the line full: try again within a minute, sooner if a key may be free. */
  #full(): Outcome<Handout> {
    const at = this.#read((pool, now) => ok(secondsUntil(pool.nextFreeAt(), now)));
    const seconds = at.ok ? (at.value ?? 1) : 1;
    return refuse("too_many_waiters", { retryAfterSeconds: Math.min(60, Math.max(1, seconds)) });
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
    this.#reseal = null;
    this.#stores.keys.forget();
    this.#stores.audit.forget();
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
   * one transaction. A registration that fails is tried again, twice; one that fails every time fails
   * the call, and nothing is made.
   */
  async #make(actor: Actor | undefined): Promise<void> {
    if (this.#existing() !== null) return;
    this.#making ??= this.#register()
      .then(() => {
        this.ctx.storage.transactionSync(() => {
          migrate(this.#db);
          // A new pool holds no value yet: all it holds is sealed under the sealing key, if any.
          this.#meta.setSealedWith(this.#values.vault.sealing);
          const pool = this.#newPool();
          pool.recorder.as(actor ?? UNNAMED_ADMIN, () => pool.recorder.recordPool("pool_created", null));
          pool.recorder.commit(clock.now());
          this.#pool ??= pool;
        });
      })
      .finally(() => {
        this.#making = null;
      });
    await this.#making;
  }

  /** Registers the pool in the directory (idempotent), trying again after a failure, with a fresh stub each time. */
  async #register(): Promise<void> {
    for (const retryAfterMs of [...REGISTER_RETRIES_MS, null]) {
      try {
        await this.#directory().register(this.#name);
        return;
      } catch (error) {
        // An overloaded directory is not asked again at once: that would only add to its load.
        if (retryAfterMs === null || (error as { overloaded?: unknown }).overloaded === true) throw error;
        logError({ event: "registration_retried", pool: this.#name, error: errorText(error), retryAfterMs });
        await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
      }
    }
  }

  #newPool(): Pool {
    return new Pool(this.#stores, this.#defaults, this.#name, this.#values.vault);
  }

  #directory(): DurableObjectStub<PoolDirectory> {
    return this.env.POOL_DIRECTORY.getByName(DIRECTORY_NAME);
  }
}

/** Whole seconds (rounded up) from `now` until `at`, or null for no time at all. */
function secondsUntil(at: number | null, now: number): number | null {
  return at === null ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * An assignment's answer, a refusal for want of a free key carrying when one may be free: worked out
 * in the same transaction, so an idempotent replay answers it exactly as the first call did.
 */
function noneFreeUntil<T>(pool: Pool, now: number, outcome: Outcome<T>): Outcome<T> {
  if (outcome.ok || outcome.refusal !== "none_free") return outcome;
  const seconds = secondsUntil(pool.nextFreeAt(), now);
  return seconds === null ? outcome : { ...outcome, retryAfterSeconds: seconds };
}

/** A label's bounds, checked here too: the object is never given one the API would refuse. */
function checkLabel(label: string | undefined): void {
  if (label !== undefined && (label.length < 1 || label.length > MAX_LABEL_LENGTH)) {
    throw new RangeError(`a label is 1 to ${MAX_LABEL_LENGTH} characters`);
  }
}

/** The earlier of two optional deadlines. */
function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}
