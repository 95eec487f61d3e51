import type { Outcome, RefusalDetail } from "../outcome";
import { isTransient, ok, refuse } from "../outcome";
import { canOpen, encryptionStatus, type Vault } from "../pool/encryption";
import { type PoolEvent, REPORTED } from "../pool/events";
import { decide, IDEMPOTENCY_TTL_MS, type IdempotencyToken } from "../pool/idempotency";
import { FREE_LIST_WINDOW, type ListPosition, type ListState, type Page, pageOf } from "../pool/listing";
import type { Claim, KeyRecord, KeySource, KeyState, NewKey, PoolTimings, StoredSecret } from "../pool/rules";
import * as rules from "../pool/rules";
import * as settings from "../pool/settings";
import { type BlockChange, type Grant, iso, type KeyInfo, type PoolStats, toInfo } from "../pool/views";
import type { AlarmSchedule } from "../storage/alarm";
import type { AuditStore } from "../storage/audit-store";
import type { IdempotencyStore } from "../storage/idempotency-store";
import type { KeyListing } from "../storage/key-listing";
import type { KeyEvents, KeyStore } from "../storage/key-store";
import type { PoolSettingsStore } from "../storage/pool-settings";
import { hexOf } from "../storage/uuid";
import { Recorder } from "./recorder";

/** Overdue deadlines a request settles first, in case the alarm is late. */
export const SETTLE_BATCH = 64;
/** Random draws an assignment makes among the free keys before it looks a live key up by index. */
const ASSIGN_MAX_DRAWS = 64;

/** A key's stored value, for the object to open: whose, sealed how, and how it reads once opened. */
export interface SecretOf {
  readonly keyId: string;
  readonly source: KeySource;
  readonly secret: StoredSecret;
}

/** A key handed out: the assignment as recorded, and the value the object opens for the answer. */
export interface Handout {
  readonly grant: Grant;
  readonly value: SecretOf;
}

/**
 * A value to import, prepared by the object: the new key (its value sealed), and the keyed
 * fingerprints of its value under each encryption key the pool has, the sealing key's first.
 */
export interface PreparedImport {
  readonly key: NewKey;
  readonly fingerprints: readonly Uint8Array[];
}

/** The stores of one pool's database, and its alarm. */
export interface PoolStores {
  readonly keys: KeyStore;
  readonly listing: KeyListing;
  readonly settings: PoolSettingsStore;
  readonly idempotency: IdempotencyStore;
  readonly audit: AuditStore;
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
  /** Each change's log line and audit entry. */
  readonly recorder: Recorder;

  constructor(
    private readonly stores: PoolStores,
    /** The [vars] timings. */
    private readonly defaults: PoolTimings,
    /** The pool's name, for log lines. */
    name: string,
    /** The encryption keys the object has. */
    private readonly vault: Vault,
  ) {
    this.#settings = settings.effectiveSettings(defaults, stores.settings.read());
    this.recorder = new Recorder(stores.audit, stores.alarm, name, () => this.#settings.auditRetentionMs);
  }

  get timings(): PoolTimings {
    return this.#settings.timings;
  }

  /** Adds generated keys, free, and returns their ids. */
  create(now: number, keys: readonly NewKey[]): string[] {
    return this.#add(now, keys, [], "created");
  }

  /**
   * Adds imported keys, free, and returns their ids in the order given; refused, adding nothing, when
   * a value is in the pool already or twice in `entries` (`details` name each by its index).
   */
  importKeys(now: number, entries: readonly PreparedImport[]): Outcome<string[]> {
    const problems: RefusalDetail[] = [];
    const first = new Map<string, number>();
    entries.forEach(({ fingerprints }, index) => {
      const path = `body.keys.${index}.key`;
      for (const fingerprint of fingerprints) {
        const keyId = this.stores.keys.withFingerprint(fingerprint);
        // A key that has expired is gone, its value free to come again, even before the alarm deletes it.
        if (keyId === null || this.#change(now, keyId, () => ok(null)).ok === false) continue;
        problems.push({ path, message: "This value is in the pool already", keyId });
        return;
      }
      const sealing = hexOf(fingerprints[0] as Uint8Array);
      const earlier = first.get(sealing);
      if (earlier === undefined) first.set(sealing, index);
      else problems.push({ path, message: `The same value as body.keys.${earlier}.key` });
    });
    if (problems.length > 0) return refuse("duplicate_values", { details: problems });
    const keys = entries.map((entry) => entry.key);
    return ok(
      this.#add(
        now,
        keys,
        entries.map((entry) => entry.fingerprints[0] ?? null),
        "imported",
      ),
    );
  }

  /**
   * Blocks a key drawn uniformly among the free ones for `holdMs`, for the holder whose secret has
   * `holder` as its digest, and hands it out; `sealedToken` (the secret as the Worker sealed it for an
   * idempotent replay) is kept with the answer. A key whose value cannot be opened (its encryption key
   * is gone) is passed over like an expired one, so the draw stays uniform among the keys that can be
   * handed out; only when every draw meets such keys is the assignment refused, naming the key missing.
   */
  assign(now: number, holdMs: number, holder: Uint8Array | null, sealedToken?: string): Outcome<Handout> {
    let missing: string | null = null;
    const nothing = (): Outcome<Handout> =>
      missing === null ? refuse("none_free") : refuse("value_key_missing", { about: missing });
    const { keys } = this.stores;
    const { releasesLeft } = this.applyDue(now, SETTLE_BATCH);
    const { lockDelayMs } = this.#settings;
    for (let draw = 0; draw < ASSIGN_MAX_DRAWS; draw++) {
      const drawn = keys.drawFree(now, releasesLeft, uniformDraw, lockDelayMs);
      if (drawn === null) return nothing();
      const stored = this.#effective(drawn);
      const current = this.#settled(stored, now);
      if (current === null) {
        // Expired, and more overdue than the settle batch covered: drop it and draw again.
        this.#delete(stored.keyId, "expired");
      } else if (rules.stateOf(current) !== "free") {
        throw new Error(`key ${stored.keyId} drawn as free is ${rules.stateOf(current)}`);
      } else if (canOpen(this.vault, stored.secret.sealedBy)) {
        return ok(this.#grant(stored, current, now, holdMs, holder, sealedToken));
      } else {
        missing = stored.secret.sealedBy;
      }
    }
    // Every draw hit an expired key (the alarm is still draining a mass expiry; deleting them all here
    // would make this one request do its work) or one that cannot be opened: look one up by index.
    const latest = keys.latestAvailable(now, lockDelayMs);
    const stored = latest === null ? null : this.#effective(latest);
    const current = stored === null ? null : this.#settled(stored, now);
    if (stored === null || current === null || !canOpen(this.vault, stored.secret.sealedBy)) return nothing();
    return ok(this.#grant(stored, current, now, holdMs, holder, sealedToken));
  }

  /**
   * An idempotent assignment's recorded answer, answered again only while the block it handed out
   * still holds (the same lease, not ended, released or deleted since), with the key's value.
   * Otherwise the outcome is gone, and nothing is handed out again.
   */
  replayed(now: number, outcome: Outcome<Grant>): Outcome<Handout> {
    if (!outcome.ok) return outcome;
    const current = this.#current(now, outcome.value.keyId);
    if (current?.block?.lease !== outcome.value.lease) return refuse("replay_gone");
    return ok({ grant: outcome.value, value: secretOf(current) });
  }

  /**
   * The key's value: to the holder of its block (proven by the secret), and, if the pool shows values
   * to anyone, to anyone while the key is not blocked. An imported key's value goes to its holder only.
   */
  reveal(now: number, keyId: string, claim: Claim): Outcome<SecretOf> {
    const current = this.#current(now, keyId);
    if (current === null) return refuse("not_found");
    const holder = claim.holder !== undefined && rules.holds(current, { admin: false, holder: claim.holder });
    if (!holder && current.source === "imported") return refuse("imported_value");
    if (!holder && this.#settings.revealValues === "holder") return refuse("holder_only");
    if (!holder && current.block !== null) return refuse("blocked");
    const sealedBy = current.secret.sealedBy;
    if (!canOpen(this.vault, sealedBy)) return refuse("value_key_missing", { about: sealedBy ?? "" });
    return ok(secretOf(current));
  }

  info(now: number, keyId: string): Outcome<KeyInfo> {
    const current = this.#current(now, keyId);
    return current === null ? refuse("not_found") : ok(toInfo(current));
  }

  /** Sets a key's label (null: none). */
  relabel(now: number, keyId: string, label: string | null): Outcome<KeyInfo> {
    return this.#change(now, keyId, (_stored, current) => {
      if (label !== current.label) this.stores.keys.setLabel(keyId, label);
      return ok(toInfo({ ...current, label }));
    });
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
        if (current.block !== null) this.recorder.record("unblocked", [keyId], { lease: current.block.lease });
        return ok({ ...toInfo(next), startedBlock: false });
      }
      if (current.block !== null && !asHolder) return refuse("held");
      if (current.disabledAt !== null) return refuse("key_disabled");
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
      this.#armFor(next);
      const blockDetail = { lease: next.block.lease, detail: { releaseAt: iso(next.block.releaseAt) } };
      if (current.block === null) this.recorder.record("blocked", [keyId], blockDetail);
      else this.recorder.record("renewed", [keyId], { ...blockDetail, auditOnly: true });
      return ok({ ...toInfo(next), lease: next.block.lease, startedBlock: current.block === null });
    });
  }

  /** Keep-alive: the key lives another full TTL from now, blocked or not; as its holder, if claimed. */
  keepAlive(now: number, keyId: string, claim: Claim): Outcome<KeyInfo> {
    return this.#change(now, keyId, (stored, current) => {
      if (rules.claimsHolding(claim) && !rules.holds(current, claim)) return refuse("lease_conflict");
      const next = rules.keepAlive(current, now, settings.lifetimeOf(this.#settings));
      this.#save(stored, next, now);
      this.#armFor(next);
      return ok(toInfo(next));
    });
  }

  /**
   * A report of what the upstream answered the key's holder (`rules.report`): as the holder, proven
   * by its secret, or as an admin (then on any key). Answers the key's state after it.
   */
  report(now: number, keyId: string, claim: Claim, r: rules.Report): Outcome<KeyInfo> {
    return this.#change(now, keyId, (stored, current) => {
      if (!rules.holds(current, claim) && (rules.claimsHolding(claim) || !claim.admin)) {
        return refuse("lease_conflict");
      }
      const { next, cooled, disabled } = rules.report(current, now, r, this.#settings.reports);
      this.#save(stored, next, now, { [REPORTED[r.outcome]]: true, cooled, disabled });
      this.#armFor(next);
      // A report is recorded once: as the change it made to the key, with its outcome, or as `reported`
      // when it changed nothing but the key's counts.
      const ended = current.block !== null && next.block === null;
      const event = disabled ? "disabled" : cooled ? "cooled" : ended ? "unblocked" : "reported";
      const recorded = { lease: current.block?.lease ?? null, outcome: r.outcome };
      const coolingUntil = cooled ? iso(next.coolingUntil as number) : null;
      this.recorder.record(
        event,
        [keyId],
        coolingUntil === null ? recorded : { ...recorded, detail: { coolingUntil }, logDetail: true },
      );
      return ok(toInfo(next));
    });
  }

  /** An admin disables a key (ending its block: it is never handed out until enabled) or enables it. */
  setDisabled(now: number, keyId: string, disabled: boolean): Outcome<KeyInfo> {
    return this.#change(now, keyId, (stored, current) => {
      const next = rules.setDisabled(current, now, disabled);
      const changed = (current.disabledAt !== null) !== disabled;
      this.#save(stored, next, now, { disabled: changed && disabled });
      if (changed) this.recorder.record(disabled ? "disabled" : "enabled", [keyId]);
      return ok(toInfo(next));
    });
  }

  /**
   * When a key may next be free, for a caller who found none: the earliest release of a block (and
   * its lock-delay) or end of a cooldown; null when no key is on its way to being free.
   */
  nextFreeAt(): number | null {
    const { release, cooldown } = this.stores.keys.nextFree();
    const released = release === null ? null : release + this.#settings.lockDelayMs;
    if (released === null) return cooldown;
    return cooldown === null ? released : Math.min(released, cooldown);
  }

  /**
   * Counts, counters and settings. Overdue deadlines are settled first, in a bounded batch as for an
   * assignment, so the counts agree with what every read answers; only when more than that batch is
   * overdue (a mass expiry the alarm is still draining) do they still include the rest for a moment.
   */
  stats(now: number): Omit<PoolStats, "waiting"> {
    this.applyDue(now, SETTLE_BATCH);
    const { keys } = this.stores;
    const { total, free, cooling, disabled, counters } = keys.counts();
    return {
      keys: { total, free, blocked: total - free - cooling - disabled, cooling, disabled },
      counters,
      settings: settings.toSettings(this.#settings),
      encryption: encryptionStatus(this.vault, keys.sealedCounts()),
    };
  }

  /** One page of keys of `state` after `after`, never their values; overdue deadlines are settled first. */
  list(now: number, state: ListState, limit: number, after: ListPosition | null): Page {
    this.applyDue(now, SETTLE_BATCH);
    const window = state === "free" ? Math.max(limit, FREE_LIST_WINDOW) : limit;
    const { rows, more } = this.stores.listing.page(state, after, window);
    return pageOf(
      rows.map((row) => this.#effective(row)),
      more,
      now,
      state,
      limit,
      this.#settings.lockDelayMs,
    );
  }

  /**
   * Changes this pool's settings. Timings apply to deadlines set from now on (creations, keep-alives,
   * blocks); deadlines already set stay as they are, so no key's expiry or release moves. Switching
   * `keysExpire` is the exception: it applies to every key at once, and the alarm writes the keys'
   * stored expiries after it, a batch at a time (`writeExpiries`).
   */
  updateSettings(now: number, patch: settings.SettingsPatch): settings.PoolSettings {
    const before = settings.toSettings(this.#settings);
    const overrides = settings.applyPatch(this.stores.settings.read(), patch, now);
    this.stores.settings.write(overrides);
    this.#settings = settings.effectiveSettings(this.defaults, overrides);
    const after = settings.toSettings(this.#settings);
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      this.recorder.log({ event: "settings_changed", ...after });
      this.recorder.recordPool("settings_changed", { ...after });
    }
    if (after.keysExpire !== before.keysExpire) this.stores.alarm.armAtMost(now);
    if (after.auditRetentionDays < before.auditRetentionDays) {
      // A shorter retention: what it no longer keeps goes, a batch now and the rest by the alarm.
      if (this.recorder.prune(now, SETTLE_BATCH)) this.stores.alarm.armAtMost(now);
      const deadline = this.recorder.deadline();
      if (deadline !== null) this.stores.alarm.armAtMost(deadline);
    }
    return after;
  }

  /**
   * Writes up to `limit` due deadlines (the store's `applyDue`) and logs them; says which kinds may
   * have more due. Safe to repeat: a retried or duplicated alarm finds nothing left to do. In a pool
   * whose keys do not expire, no key expires, whatever expiry it still has stored.
   */
  applyDue(now: number, limit: number): { expiriesLeft: boolean; releasesLeft: boolean; cooldownsLeft: boolean } {
    const { keysExpire, lockDelayMs } = this.#settings;
    const { expired, released, cooled, ...left } = this.stores.keys.applyDue(now, limit, keysExpire, lockDelayMs);
    this.recorder.record("expired", expired, { bySystem: true });
    this.recorder.record(
      "released",
      released.map((r) => r.keyId),
      { bySystem: true, leases: released.map((r) => r.lease) },
    );
    return left;
  }

  /**
   * Brings up to `limit` keys' stored expiries in line with `keysExpire` after it was switched: one
   * key TTL after the switch for keys that had none, none at all for the others. Says whether more
   * may be left.
   */
  writeExpiries(limit: number): boolean {
    const { keysExpire, expirySwitchedAt, timings } = this.#settings;
    const at = keysExpire ? (expirySwitchedAt ?? 0) + timings.keyTtlMs : null;
    const written = this.stores.keys.writeExpiries(at, limit);
    if (at !== null && written > 0) this.stores.alarm.armAtMost(at);
    return written === limit;
  }

  /** Whether the alarm has work other than deadlines: stored expiries that disagree with `keysExpire`. */
  expiriesToWrite(): boolean {
    return this.stores.keys.expiriesToWrite(this.#settings.keysExpire);
  }

  /**
   * Runs `work` at most once per idempotency key: a repeat of the same request answers the recorded
   * outcome (refusals too) without doing anything, the same key with another request is refused.
   * Without a key, it simply runs `work`.
   */
  once<T>(
    token: IdempotencyToken | undefined,
    now: number,
    work: () => Outcome<T>,
    /** Whether the outcome is the call's answer for good; a caller that goes on waiting records it later. */
    final: (outcome: Outcome<T>) => boolean = () => true,
  ): Outcome<T> {
    if (token === undefined) return work();
    const { idempotency, alarm } = this.stores;
    const decision = decide(idempotency.get(token.keyHash), token.requestHash, now);
    if (decision.kind === "replay") return JSON.parse(decision.outcome) as Outcome<T>;
    if (decision.kind === "mismatch") return refuse("idempotency_mismatch");
    const outcome = work();
    if (isTransient(outcome) || !final(outcome)) return outcome;
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
  ): Handout {
    const lease = this.stores.keys.nextLease();
    const blocked = rules.block(current, now, { lease, digest: holder }, holdMs);
    this.#save(stored, blocked, now, { assigned: true });
    this.#armFor(blocked);
    this.recorder.record("assigned", [blocked.keyId], { lease, detail: { releaseAt: iso(blocked.block.releaseAt) } });
    const grant = { keyId: blocked.keyId, lease, releaseAt: iso(blocked.block.releaseAt) };
    return { grant: sealedToken === undefined ? grant : { ...grant, sealedToken }, value: secretOf(blocked) };
  }

  /** Inserts new keys, free, logs them as `event`, and arms their expiry. */
  #add(now: number, keys: readonly NewKey[], fingerprints: readonly (Uint8Array | null)[], event: PoolEvent): string[] {
    const lifetime = settings.lifetimeOf(this.#settings);
    const records = keys.map((key) => rules.createKey(key, now, lifetime));
    this.stores.keys.insert(records, fingerprints);
    const ids = records.map((record) => record.keyId);
    this.recorder.record(event, ids);
    const [first] = records;
    if (first !== undefined) this.#armFor(first);
    return ids;
  }

  /** Arms the alarm for the key's next deadline, if it has one. */
  #armFor(record: KeyState): void {
    const deadline = rules.nextDeadline(record);
    if (deadline !== null) this.stores.alarm.armAtMost(deadline);
  }

  /** A stored key with the expiry the pool's settings give it (see `settings.effectiveExpiry`). */
  #effective<K extends KeyState>(stored: K): K {
    const expiresAt = settings.effectiveExpiry(stored.expiresAt, this.#settings);
    return expiresAt === stored.expiresAt ? stored : { ...stored, expiresAt };
  }

  /** The key as it stands at `now`, passed deadlines applied, without writing anything. */
  #current(now: number, keyId: string): KeyRecord | null {
    if (!rules.isKeyId(keyId)) return null;
    const stored = this.stores.keys.get(keyId);
    return stored === null ? null : this.#settled(this.#effective(stored), now);
  }

  /** The key as it stands at `now`, with this pool's lock-delay. */
  #settled<K extends KeyState>(stored: K, now: number): K | null {
    return rules.settle(stored, now, this.#settings.lockDelayMs);
  }

  /** Runs `change` on a live key; an expired key is deleted on the way and is not found. */
  #change<T>(now: number, keyId: string, change: (stored: KeyRecord, current: KeyRecord) => Outcome<T>): Outcome<T> {
    if (!rules.isKeyId(keyId)) return refuse("not_found");
    const found = this.stores.keys.get(keyId);
    if (found === null) return refuse("not_found");
    const stored = this.#effective(found);
    const current = this.#settled(stored, now);
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
  #save(stored: KeyRecord, next: KeyRecord, now: number, events: KeyEvents = {}): void {
    const released = stored.block !== null && rules.isBlockDue(stored.block, now);
    this.stores.keys.save(stored, next, { ...events, released });
    if (released)
      this.recorder.record("released", [next.keyId], { bySystem: true, lease: stored.block?.lease ?? null });
  }

  #delete(keyId: string, why: "deleted" | "expired"): void {
    this.stores.keys.delete(keyId, why);
    this.recorder.record(why, [keyId], { bySystem: why === "expired" });
  }
}

function secretOf(record: KeyRecord): SecretOf {
  return { keyId: record.keyId, source: record.source, secret: record.secret };
}

/** A uniformly random integer in [0, n), from the platform's cryptographic generator. */
function uniformDraw(n: number): number {
  return rules.uniformIndex(n, () => crypto.getRandomValues(new Uint32Array(1))[0] as number);
}
