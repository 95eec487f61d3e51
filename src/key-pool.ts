import { DurableObject } from "cloudflare:workers";
import { clock } from "./clock";
import { parseTimings } from "./pool/config";
import { type Outcome, ok, refuse } from "./pool/outcome";
import {
  block,
  createKey,
  iso,
  type KeyInfo,
  type KeyRecord,
  keepAlive,
  leaseMismatch,
  MAX_BULK_CREATE,
  nextDeadline,
  type PoolTimings,
  settle,
  toInfo,
  unblock,
  uniformIndex,
} from "./pool/rules";
import { isUuid } from "./pool/uuid";
import { KeyStore, type StoredKey } from "./storage/key-store";

/** Due deadlines one alarm run handles before it re-arms itself to go on. */
export const ALARM_BATCH = 500;
/** Overdue deadlines an assignment settles first, in case the alarm is late. */
const ASSIGN_SETTLE_BATCH = 64;

export interface Assignment {
  readonly keyId: string;
  readonly key: string;
  readonly lease: number;
  readonly releaseAt: string;
}

/** The info view, plus the lease when the call itself blocked or renewed the key. */
export type BlockResult = KeyInfo & { readonly lease?: number };

/**
 * One pool of keys. Owns the pool's SQLite database and its alarm; the rules themselves live in
 * `pool/rules.ts`. Every method runs synchronously against storage, so each call is one atomic
 * step with no interleaving, and every passed deadline is treated as fired even if the alarm that
 * fires it has not run yet.
 */
export class KeyPool extends DurableObject<Env> {
  private readonly store: KeyStore;
  private readonly timings: PoolTimings;
  /** The alarm time this object last armed, so it only writes one when the earliest deadline moves earlier. */
  private armedAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.timings = parseTimings(env);
    this.store = new KeyStore(ctx.storage.sql);
    this.store.ensureSchema();
    ctx.blockConcurrencyWhile(async () => {
      this.armedAt = await ctx.storage.getAlarm();
    });
  }

  /** Creates `count` free keys in one transaction and returns their ids. */
  create(count: number): string[] {
    if (!Number.isInteger(count) || count < 1 || count > MAX_BULK_CREATE) {
      throw new RangeError(`count must be an integer from 1 to ${MAX_BULK_CREATE}`);
    }
    const now = clock.now();
    const ids = this.ctx.storage.transactionSync(() => {
      const created: string[] = [];
      for (let i = 0; i < count; i++) {
        const record = createKey(crypto.randomUUID(), crypto.randomUUID(), now, this.timings);
        this.store.insert(record);
        created.push(record.keyId);
      }
      return created;
    });
    this.armAtMost(now + this.timings.keyTtlMs);
    return ids;
  }

  /** Blocks a key chosen uniformly at random among the free ones and hands it out. */
  assign(): Outcome<Assignment> {
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => {
      const { releasesLeft } = this.settleDue(now, ASSIGN_SETTLE_BATCH);
      for (;;) {
        const stored = this.drawFree(now, releasesLeft);
        if (stored === null) return refuse("none_free");
        const current = settle(stored.record, now);
        if (current === null) {
          // Expired, and more overdue than the settle batch covered: drop it and draw again.
          this.store.delete(stored.record.keyId);
          continue;
        }
        const blocked = block(current, now, this.store.nextLease(), this.timings);
        this.store.save(stored, blocked);
        this.armAtMost(nextDeadline(blocked));
        const { lease, releaseAt } = blocked.block;
        return ok({ keyId: blocked.keyId, key: blocked.key, lease, releaseAt: iso(releaseAt) });
      }
    });
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
        this.store.save(stored, next);
        return ok(toInfo(next));
      }
      if (current.block !== null && lease === undefined) return refuse("held");
      const next = block(current, now, lease ?? this.store.nextLease(), this.timings);
      this.store.save(stored, next);
      this.armAtMost(nextDeadline(next));
      return ok({ ...toInfo(next), lease: next.block.lease });
    });
  }

  /** Keep-alive: the key lives another full TTL from now, blocked or not. */
  keepAlive(keyId: string, lease?: number): Outcome<KeyInfo> {
    return this.mutate(keyId, (stored, current, now) => {
      if (leaseMismatch(current, lease) !== null) return refuse("lease_conflict");
      const next = keepAlive(current, now, this.timings);
      this.store.save(stored, next);
      return ok(toInfo(next));
    });
  }

  /** Fires every due deadline in bounded batches, then re-arms for the next one. Idempotent. */
  override async alarm(): Promise<void> {
    this.armedAt = null; // this alarm is spent; whatever follows must be armed anew
    const now = clock.now();
    const left = this.ctx.storage.transactionSync(() => this.settleDue(now, ALARM_BATCH));
    if (left.expiriesLeft || left.releasesLeft) {
      // Yield between batches so requests are answered while a mass expiry drains.
      this.arm(now);
      return;
    }
    const next = this.store.earliestDeadline();
    if (next === null) await this.ctx.storage.deleteAlarm();
    else this.arm(next);
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
        return refuse("not_found");
      }
      return change(stored, current, now);
    });
  }

  /**
   * Applies up to `limit` due expiries and `limit` due releases, and says which kinds may have more
   * due. Safe to repeat: each step reads the current row, so a retried or duplicated alarm changes
   * nothing.
   */
  private settleDue(now: number, limit: number): { expiriesLeft: boolean; releasesLeft: boolean } {
    const expired = this.store.dueExpiries(now, limit);
    for (const { record } of expired) this.store.delete(record.keyId);
    const released = this.store.dueReleases(now, limit);
    for (const stored of released) this.store.save(stored, unblock(stored.record));
    return { expiriesLeft: expired.length === limit, releasesLeft: released.length === limit };
  }

  /** Makes sure the alarm fires no later than `at`; writes only when that moves it earlier. */
  private armAtMost(at: number): void {
    if (this.armedAt === null || at < this.armedAt) this.arm(at);
  }

  private arm(at: number): void {
    this.armedAt = at;
    void this.ctx.storage.setAlarm(at);
  }
}

/** A uniform 32-bit word from the platform's cryptographic generator. */
function randomWord(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}
