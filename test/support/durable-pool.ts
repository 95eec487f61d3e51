import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { KeyPool } from "../../src/key-pool";
import type { Outcome } from "../../src/outcome";
import type { Claim } from "../../src/pool/rules";
import type { BlockChange, KeyInfo, OpenedGrant } from "../../src/pool/views";
import { type KeyColumns, STATE_COLUMNS } from "../../src/storage/key-rows";
import { storedVersion } from "../../src/storage/migrations";
import { bytesToUuid } from "../../src/storage/uuid";
import type { FakeClock } from "./clock";
import { alarmWithFailingStorage, retryAlarm } from "./faults";
import type { ModelClaim, ModelReport, PoolModel } from "./model";
import type { ImportedEntry, PoolUnderTest } from "./model-commands";
import { addKeys, internalsOf } from "./pool";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "./timings";

/** One row of `keys` (the store's own `KeyColumns`, the key's counts, and how its value is stored), the id as text. */
export type KeyRow = Omit<KeyColumns, "id"> & {
  id: string;
  assignments: number;
  releases: number;
  secret: Uint8Array;
  sealed_by: string | null;
};

/**
 * Everything a pool keeps: its rows, its `pool_stats` row, the free keys it holds in memory, the
 * lease sequence its storage implies, the alarm in storage and the one it thinks it armed.
 */
export interface PoolSnapshot {
  rows: KeyRow[];
  /** The in-memory free set, in its order (built by this call if the object had none yet). */
  free: string[];
  /** The largest lease storage knows of: the keys' own and the floor kept for keys gone. */
  leaseSeq: number;
  /** The `pool_stats` row (GET /pools/{pool}): stored keys, event counters and the lease floor. */
  stats: Record<string, number>;
  alarm: number | null;
  armedAt: number | null;
}

export function snapshot(stub: DurableObjectStub<KeyPool>): Promise<PoolSnapshot> {
  return runInDurableObject(stub, async (instance, state) => {
    const sql = state.storage.sql;
    const alarm = await state.storage.getAlarm();
    const armedAt = internalsOf(instance).alarm.armedAt;
    // A pool nobody made has no tables: it holds nothing.
    if (storedVersion(internalsOf(instance).db) === 0)
      return { rows: [], free: [], leaseSeq: 0, stats: {}, alarm, armedAt };
    const rows = sql
      .exec<KeyColumns & { assignments: number; releases: number; secret: ArrayBuffer; sealed_by: string | null }>(
        `SELECT ${STATE_COLUMNS}, assignments, releases, secret, sealed_by FROM keys ORDER BY id`,
      )
      .toArray()
      .map((row) => ({ ...row, id: bytesToUuid(row.id), secret: new Uint8Array(row.secret) }));
    const stats = sql.exec<Record<string, number>>("SELECT * FROM pool_stats").one();
    const { keys } = internalsOf(instance);
    const free = Array.from({ length: keys.freeCount() }, (_, i) => keys.freeKeyAt(i)?.keyId ?? "missing");
    const leaseSeq = Math.max(stats.lease_floor ?? 0, ...rows.map((row) => row.lease ?? 0));
    return { rows, free, leaseSeq, stats, alarm, armedAt };
  });
}

/**
 * Storage invariants that hold whatever happened: the free set in memory holds exactly the keys with
 * no block, cooldown or disabling stored, a block has both its times and a lease and no cooldown, the
 * blocks held have distinct leases,
 * deadlines follow exactly from the times they derive from, and the alarm (the one stored and the one
 * the object remembers) is never later than the earliest deadline still in storage.
 */
export function checkStorage(s: PoolSnapshot): void {
  const leases = new Set<number>();
  const unblocked = s.rows
    .filter((row) => row.release_at === null && row.cooling_until === null && row.disabled_at === null)
    .map((row) => row.id);
  if (new Set(s.free).size !== s.free.length) fail("the free set holds a key twice", s.free);
  if (JSON.stringify([...s.free].sort()) !== JSON.stringify(unblocked)) {
    fail("the free set is not the keys with no block, cooldown or disabling", { free: s.free, unblocked });
  }
  for (const row of s.rows) {
    if ((row.blocked_at === null) !== (row.release_at === null)) fail(`key ${row.id} has a partial block`, row);
    if (row.release_at !== null && row.cooling_until !== null) fail(`key ${row.id} is blocked and cooling`, row);
    if (row.release_at !== null && row.disabled_at !== null) fail(`key ${row.id} is blocked and disabled`, row);
    if (row.cooling_until !== null && row.disabled_at !== null) fail(`key ${row.id} is cooling and disabled`, row);
    if (row.release_at !== null) {
      if (row.lease === null) fail(`key ${row.id} is blocked with no lease`, row);
      else if (leases.has(row.lease)) fail(`lease ${row.lease} is held twice`, row);
      else leases.add(row.lease);
    }
    if (row.expires_at !== row.last_activity + KEY_TTL_MS)
      fail(`key ${row.id}: expiry is not lastActivity + KEY_TTL`, row);
    if (row.release_at !== null && row.release_at !== (row.blocked_at as number) + BLOCK_TTL_MS) {
      fail(`key ${row.id}: release is not blockedAt + BLOCK_TTL`, row);
    }
  }
  if (s.stats.total !== s.rows.length) fail(`${s.rows.length} keys stored but pool_stats.total ${s.stats.total}`, s);

  if (s.alarm !== s.armedAt) fail(`alarm in storage ${s.alarm}, but the object believes ${s.armedAt}`, s);
  const deadlines = s.rows.map((row) =>
    Math.min(row.expires_at, row.release_at ?? Number.POSITIVE_INFINITY, row.cooling_until ?? Number.POSITIVE_INFINITY),
  );
  if (deadlines.length > 0) {
    const earliest = Math.min(...deadlines);
    if (s.alarm === null || s.alarm > earliest)
      fail(`alarm ${s.alarm} is later than the earliest deadline ${earliest}`, s);
  }
}

/** Storage against the model: every live key stored exactly as the model knows it, nothing gone still served. */
export function checkAgainstModel(s: PoolSnapshot, model: PoolModel): void {
  if (s.leaseSeq !== model.leaseSeq) fail(`lease counter ${s.leaseSeq}, model ${model.leaseSeq}`, s);
  const stored = new Map(s.rows.map((row) => [row.id, row]));
  for (const row of s.rows) {
    const key = model.keys.get(row.id);
    if (key === undefined) fail(`storage has a key nobody created: ${row.id}`, row);
    else if (key.deleted) fail(`deleted key ${row.id} is still stored`, row);
  }
  for (const id of model.ids) {
    const key = model.keys.get(id);
    const row = stored.get(id);
    if (key === undefined || key.deleted) continue;
    if (model.live(id) === null) {
      // Expired: it may wait for the alarm, but only if its stored expiry has really passed.
      if (row !== undefined && row.expires_at > model.now) fail(`expired key ${id} still has a future expiry`, row);
      continue;
    }
    if (row === undefined) fail(`live key ${id} is not stored`, key);
    else {
      if ((row.disabled_at !== null) !== key.disabled) fail(`key ${id}: disabled differs`, { row, key });
      if (key.imported) {
        if (row.sealed_by === null) fail(`imported key ${id} is stored unsealed`, row);
        if (contains(row.secret, new TextEncoder().encode(key.value ?? ""))) fail(`key ${id} stores its value`, row);
      }
      if (row.created_at !== key.createdAt || row.last_activity !== key.lastActivity)
        fail(`key ${id}: times differ`, { row, key });
      const held = model.heldBlock(key);
      if (held !== null) {
        if (row.blocked_at !== held.blockedAt || row.lease !== held.lease)
          fail(`key ${id}: block differs`, { row, key });
      } else if (row.blocked_at !== null) {
        // A block the model released: storage may still hold it until the alarm, but only if it is due
        // and is the block the model last saw.
        const due = row.release_at !== null && row.release_at <= model.now;
        if (!due || row.blocked_at !== key.block?.blockedAt || row.lease !== key.block?.lease) {
          fail(`key ${id} is blocked in storage but free in the model`, { row, key });
        }
      }
    }
  }
}

/** Whether `haystack` holds the bytes of `needle` anywhere. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The model's hex stand-in for a holder secret's digest, as the bytes the pool keeps. */
export function bytesOf(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

export function claimOf(claim: ModelClaim): Claim {
  return {
    admin: claim.admin,
    lease: claim.lease,
    holder: claim.holder === undefined ? undefined : bytesOf(claim.holder),
  };
}

function fail(message: string, context: unknown): never {
  throw new Error(`${message}\n${JSON.stringify(context)}`);
}

/**
 * The real Durable Object behind a stub, as a system under a model test. The model describes a pool
 * that exists, so `madePool` gives one.
 */
export class DurablePool implements PoolUnderTest {
  constructor(
    readonly stub: DurableObjectStub<KeyPool>,
    private readonly clock: FakeClock,
  ) {}

  create = (count: number) => addKeys(this.stub, count);
  importKeys = (entries: readonly ImportedEntry[]) => this.stub.importKeys(entries) as Promise<Outcome<string[]>>;
  assign = (_pick: number, holder: string) =>
    this.stub.assign({ holder: { digest: bytesOf(holder) } }) as Promise<Outcome<OpenedGrant>>;
  reveal = (id: string, claim: ModelClaim) =>
    this.stub.reveal(id, claimOf(claim)) as Promise<Outcome<{ keyId: string; key: string }>>;
  info = (id: string) => this.stub.info(id) as Promise<Outcome<KeyInfo>>;
  remove = (id: string) => this.stub.remove(id) as Promise<Outcome<{ keyId: string }>>;
  setBlocked = (id: string, blocked: boolean, claim: ModelClaim, newHolder: string) =>
    this.stub.setBlocked(id, blocked, claimOf(claim), bytesOf(newHolder)) as Promise<Outcome<BlockChange>>;
  keepAlive = (id: string, claim: ModelClaim) => this.stub.keepAlive(id, claimOf(claim)) as Promise<Outcome<KeyInfo>>;
  report = (id: string, claim: ModelClaim, { outcome, retryAfterMs, release }: ModelReport) =>
    this.stub.report(id, claimOf(claim), { outcome, retryAfterMs, release }) as Promise<Outcome<KeyInfo>>;
  setDisabled = (id: string, disabled: boolean) => this.stub.setDisabled(id, disabled) as Promise<Outcome<KeyInfo>>;

  setNow(now: number): void {
    this.clock.set(now);
  }

  async fireAlarm(mode: "due" | "duplicate"): Promise<void> {
    const armed = await runInDurableObject(this.stub, (_instance, state) => state.storage.getAlarm());
    if (armed === null || (mode === "due" && armed > this.clock.nowMs)) return;
    if (!(await runDurableObjectAlarm(this.stub))) throw new Error("an armed alarm did not run");
  }

  async restart(): Promise<void> {
    // Eviction needs a running object; a model step may come first thing or right after another eviction.
    await runInDurableObject(this.stub, () => undefined);
    await evictDurableObject(this.stub);
  }

  async failingAlarm(failAt: number): Promise<void> {
    if (await alarmWithFailingStorage(this.stub, failAt)) await retryAlarm(this.stub);
  }

  async checkInvariants(model: PoolModel): Promise<void> {
    const s = await snapshot(this.stub);
    checkStorage(s);
    checkAgainstModel(s, model);
  }
}
