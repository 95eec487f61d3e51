import { type LogEntry, log } from "../log";
import type { Outcome } from "../outcome";
import { ok, refuse } from "../outcome";
import type { PoolEvent } from "../pool/events";
import { decide, IDEMPOTENCY_TTL_MS, type IdempotencyToken } from "../pool/idempotency";
import { FREE_LIST_WINDOW, type ListPosition, type ListState, type Page, pageOf } from "../pool/listing";
import type { Claim, KeyRecord, PoolTimings } from "../pool/rules";
import * as rules from "../pool/rules";
import * as settings from "../pool/settings";
import { type BlockChange, type Grant, iso, type KeyInfo, type KeyValue, type PoolStats, toInfo } from "../pool/views";
import type { AlarmSchedule } from "../storage/alarm";
import type { IdempotencyStore } from "../storage/idempotency-store";
import type { KeyListing } from "../storage/key-listing";
import type { KeyStore } from "../storage/key-store";
import type { PoolSettingsStore } from "../storage/pool-settings";

/** Overdue deadlines a request settles first, in case the alarm is late. */
export const SETTLE_BATCH = 64;
/** Random draws an assignment makes among the free keys before it looks a live key up by index. */
const ASSIGN_MAX_DRAWS = 64;

/** The stores of one pool's database, and its alarm. */
export interface PoolStores {
  readonly keys: KeyStore;
  readonly listing: KeyListing;
  readonly settings: PoolSettingsStore;
  readonly idempotency: IdempotencyStore;
  readonly alarm: AlarmSchedule;
}

/**
 * What each operation does to one pool, at one moment `now`: the pool's rules (`pool/`) applied to
 * what its stores read, and the changes written back, each change logged and its deadline armed. The
 * Durable Object (`key-pool.ts`) runs every call in one transaction; nothing here knows about RPC,
 * transactions or the clock.
 */
export class Pool {
  /** The settings in force: the [vars] timings with this pool's settings applied. */
  #settings: settings.EffectiveSettings;

  constructor(
    private readonly stores: PoolStores,
    /** The [vars] timings. */
    private readonly defaults: PoolTimings,
    /** The pool's name, for log lines. */
    private readonly name: string,
  ) {
    this.#settings = settings.effectiveSettings(defaults, stores.settings.read());
  }

  get timings(): PoolTimings {
    return this.#settings.timings;
  }

  /** Creates `count` free keys and returns their ids. */
  create(now: number, count: number): string[] {
    const records = Array.from({ length: count }, () =>
      rules.createKey(crypto.randomUUID(), crypto.randomUUID(), now, this.timings),
    );
    const ids = records.map((record) => record.keyId);
    this.stores.keys.insert(records);
    this.#record("created", ids);
    this.stores.alarm.armAtMost(now + this.timings.keyTtlMs);
    return ids;
  }

  /**
   * Blocks a key drawn uniformly among the free ones for `holdMs`, for the holder whose secret has
   * `holder` as its digest, and hands it out; `sealedToken` (the secret as the Worker sealed it for an
   * idempotent replay) is kept with the answer.
   */
  assign(now: number, holdMs: number, holder: Uint8Array | null, sealedToken?: string): Outcome<Grant> {
    const grant = (stored: KeyRecord, current: KeyRecord) =>
      ok(this.#grant(stored, current, now, holdMs, holder, sealedToken));
    const { keys } = this.stores;
    const { releasesLeft } = this.applyDue(now, SETTLE_BATCH);
    for (let draw = 0; draw < ASSIGN_MAX_DRAWS; draw++) {
      const stored = keys.drawFree(now, releasesLeft, uniformDraw);
      if (stored === null) return refuse("none_free");
      const current = rules.settle(stored, now);
      if (current !== null) return grant(stored, current);
      // Expired, and more overdue than the settle batch covered: drop it and draw again.
      this.#delete(stored.keyId, "expired");
    }
    // Every draw hit an expired key: the alarm is still draining a mass expiry. Deleting them all
    // here would make this one request do the alarm's work; look a live key up by index instead.
    const stored = keys.latestAvailable(now);
    const current = stored === null ? null : rules.settle(stored, now);
    return stored === null || current === null ? refuse("none_free") : grant(stored, current);
  }

  /**
   * An idempotent assignment's recorded answer, answered again only while the block it handed out
   * still holds (the same lease, not ended, released or deleted since): with the key's value as it is
   * now. Otherwise the outcome is gone, and nothing is handed out again.
   */
  replayed(now: number, outcome: Outcome<Grant>): Outcome<Grant> {
    if (!outcome.ok) return outcome;
    const current = this.#current(now, outcome.value.keyId);
    if (current?.block?.lease !== outcome.value.lease) return refuse("replay_gone");
    return ok({ ...outcome.value, key: current.key });
  }

  /**
   * The key's value: to the holder of its block (proven by the secret), and, if the pool shows values
   * to anyone, to anyone while the key is not blocked.
   */
  reveal(now: number, keyId: string, claim: Claim): Outcome<KeyValue> {
    const current = this.#current(now, keyId);
    if (current === null) return refuse("not_found");
    const holder = claim.holder !== undefined && rules.holds(current, { admin: false, holder: claim.holder });
    if (!holder && this.#settings.revealValues === "holder") return refuse("holder_only");
    if (!holder && current.block !== null) return refuse("blocked");
    return ok({ keyId: current.keyId, key: current.key });
  }

  info(now: number, keyId: string): Outcome<KeyInfo> {
    const current = this.#current(now, keyId);
    return current === null ? refuse("not_found") : ok(toInfo(current));
  }

  remove(now: number, keyId: string): Outcome<{ keyId: string }> {
    return this.#change(now, keyId, (stored) => {
      this.#delete(stored.keyId, "deleted");
      return ok({ keyId: stored.keyId });
    });
  }

  /**
   * Blocks or unblocks a key. A caller acting as the holder (a lease or a secret) must prove it:
   * unblocking then releases its block, blocking renews it. Anyone else must be an admin, who frees
   * any key or blocks a free one, for a new holder whose secret has `newHolder` as its digest.
   */
  setBlocked(now: number, keyId: string, blocked: boolean, claim: Claim, newHolder?: Uint8Array): Outcome<BlockChange> {
    return this.#change<BlockChange>(now, keyId, (stored, current) => {
      const asHolder = rules.claimsHolding(claim);
      if (asHolder && !rules.holds(current, claim)) return refuse("lease_conflict");
      if (!asHolder && !claim.admin) return refuse("not_holder");
      if (!blocked) {
        const next = rules.unblock(current);
        this.#save(stored, next, now);
        if (current.block !== null) this.#record("unblocked", [keyId]);
        return ok({ ...toInfo(next), startedBlock: false });
      }
      if (current.block !== null && !asHolder) return refuse("held");
      // A claim that passed the guard is the current block's: renew it with the hold it was given.
      // Without a new holder's digest, nobody can prove holding the block: only an admin can end it early.
      const next = rules.isBlocked(current)
        ? rules.renew(current, now)
        : rules.block(
            current,
            now,
            { lease: this.stores.keys.nextLease(), digest: newHolder ?? null },
            this.timings.blockTtlMs,
          );
      this.#save(stored, next, now);
      this.stores.alarm.armAtMost(rules.nextDeadline(next));
      if (current.block === null) this.#record("blocked", [keyId]);
      return ok({ ...toInfo(next), lease: next.block.lease, startedBlock: current.block === null });
    });
  }

  /** Keep-alive: the key lives another full TTL from now, blocked or not; as its holder, if claimed. */
  keepAlive(now: number, keyId: string, claim: Claim): Outcome<KeyInfo> {
    return this.#change(now, keyId, (stored, current) => {
      if (rules.claimsHolding(claim) && !rules.holds(current, claim)) return refuse("lease_conflict");
      const next = rules.keepAlive(current, now, this.timings);
      this.#save(stored, next, now);
      return ok(toInfo(next));
    });
  }

  /**
   * Counts, counters and settings. Overdue deadlines are settled first, in a bounded batch as for an
   * assignment, so the counts agree with what every read answers; only when more than that batch is
   * overdue (a mass expiry the alarm is still draining) do they still include the rest for a moment.
   */
  stats(now: number): PoolStats {
    this.applyDue(now, SETTLE_BATCH);
    const { total, free, counters } = this.stores.keys.counts();
    return { keys: { total, free, blocked: total - free }, counters, settings: settings.toSettings(this.#settings) };
  }

  /** One page of keys of `state` after `after`, never their values; overdue deadlines are settled first. */
  list(now: number, state: ListState, limit: number, after: ListPosition | null): Page {
    this.applyDue(now, SETTLE_BATCH);
    const window = state === "free" ? Math.max(limit, FREE_LIST_WINDOW) : limit;
    const { rows, more } = this.stores.listing.page(state, after, window);
    return pageOf(rows, more, now, state, limit);
  }

  /**
   * Changes this pool's settings. Timings apply to deadlines set from now on (creations, keep-alives,
   * blocks); deadlines already set stay as they are, so no key's expiry or release moves.
   */
  updateSettings(patch: settings.SettingsPatch): settings.PoolSettings {
    const before = settings.toSettings(this.#settings);
    const overrides = settings.applyPatch(this.stores.settings.read(), patch);
    this.stores.settings.write(overrides);
    this.#settings = settings.effectiveSettings(this.defaults, overrides);
    const after = settings.toSettings(this.#settings);
    if (JSON.stringify(after) !== JSON.stringify(before)) this.#log({ event: "settings_changed", ...after });
    return after;
  }

  /**
   * Writes up to `limit` due deadlines (the store's `applyDue`) and logs them; says which kinds may
   * have more due. Safe to repeat: a retried or duplicated alarm finds nothing left to do.
   */
  applyDue(now: number, limit: number): { expiriesLeft: boolean; releasesLeft: boolean } {
    const { expired, released, ...left } = this.stores.keys.applyDue(now, limit);
    this.#record("expired", expired);
    this.#record("released", released);
    return left;
  }

  /**
   * Runs `work` at most once per idempotency key: a repeat of the same request answers the recorded
   * outcome (refusals too) without doing anything, the same key with another request is refused.
   * Without a key, it simply runs `work`.
   */
  once<T>(token: IdempotencyToken | undefined, now: number, work: () => Outcome<T>): Outcome<T> {
    if (token === undefined) return work();
    const { idempotency, alarm } = this.stores;
    const decision = decide(idempotency.get(token.keyHash), token.requestHash, now);
    if (decision.kind === "replay") return JSON.parse(decision.outcome) as Outcome<T>;
    if (decision.kind === "mismatch") return refuse("idempotency_mismatch");
    const outcome = work();
    const expiresAt = now + IDEMPOTENCY_TTL_MS;
    idempotency.put(token.keyHash, { requestHash: token.requestHash, expiresAt, outcome: JSON.stringify(outcome) });
    alarm.armAtMost(expiresAt);
    return outcome;
  }

  /** Blocks `current` (the settled form of `stored`) for `holdMs` under a new lease and hands it out. */
  #grant(
    stored: KeyRecord,
    current: KeyRecord,
    now: number,
    holdMs: number,
    holder: Uint8Array | null,
    sealedToken?: string,
  ): Grant {
    const lease = this.stores.keys.nextLease();
    const blocked = rules.block(current, now, { lease, digest: holder }, holdMs);
    this.#save(stored, blocked, now, true);
    this.stores.alarm.armAtMost(rules.nextDeadline(blocked));
    this.#record("assigned", [blocked.keyId]);
    const grant = { keyId: blocked.keyId, key: blocked.key, lease, releaseAt: iso(blocked.block.releaseAt) };
    return sealedToken === undefined ? grant : { ...grant, sealedToken };
  }

  /** The key as it stands at `now`, passed deadlines applied, without writing anything. */
  #current(now: number, keyId: string): KeyRecord | null {
    if (!rules.isKeyId(keyId)) return null;
    const stored = this.stores.keys.get(keyId);
    return stored === null ? null : rules.settle(stored, now);
  }

  /** Runs `change` on a live key; an expired key is deleted on the way and is not found. */
  #change<T>(now: number, keyId: string, change: (stored: KeyRecord, current: KeyRecord) => Outcome<T>): Outcome<T> {
    if (!rules.isKeyId(keyId)) return refuse("not_found");
    const stored = this.stores.keys.get(keyId);
    if (stored === null) return refuse("not_found");
    const current = rules.settle(stored, now);
    if (current === null) {
      this.#delete(keyId, "expired");
      return refuse("not_found");
    }
    return change(stored, current);
  }

  /**
   * Writes `next` over `stored`, counting an assignment when it is one. A stored block whose time
   * was up ends here if no alarm ended it before, so this is where it is counted (and logged) as
   * released, exactly once.
   */
  #save(stored: KeyRecord, next: KeyRecord, now: number, assigned = false): void {
    const released = stored.block !== null && rules.isBlockDue(stored.block, now);
    this.stores.keys.save(stored, next, { assigned, released });
    if (released) this.#record("released", [next.keyId]);
  }

  #delete(keyId: string, why: "deleted" | "expired"): void {
    this.stores.keys.delete(keyId, why);
    this.#record(why, [keyId]);
  }

  /** Logs `event` for `keyIds` as one entry: the pool and the key ids, never values. */
  #record(event: PoolEvent, keyIds: readonly string[]): void {
    const [only] = keyIds;
    if (only === undefined) return;
    this.#log(keyIds.length === 1 ? { event, keyId: only } : { event, count: keyIds.length, keyIds });
  }

  #log({ event, ...fields }: LogEntry): void {
    log({ event, pool: this.name, ...fields });
  }
}

/** A uniformly random integer in [0, n), from the platform's cryptographic generator. */
function uniformDraw(n: number): number {
  return rules.uniformIndex(n, () => crypto.getRandomValues(new Uint32Array(1))[0] as number);
}
