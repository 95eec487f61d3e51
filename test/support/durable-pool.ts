import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { KeyPool } from "../../src/key-pool";
import type { Outcome } from "../../src/outcome";
import type { Assignment, BlockResult, KeyInfo } from "../../src/pool/views";
import type { KeyColumns } from "../../src/storage/key-store";
import { bytesToUuid } from "../../src/storage/uuid";
import type { FakeClock } from "./clock";
import { alarmWithFailingStorage, retryAlarm } from "./faults";
import type { PoolModel } from "./model";
import type { PoolUnderTest } from "./model-commands";
import { addKeys, internalsOf } from "./pool";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "./timings";

/** One row of `keys` but its secret (the store's own `KeyColumns`), the id as text. */
export type KeyRow = Omit<KeyColumns, "id"> & { id: string };

/** Everything a pool keeps: its rows, its counters, the alarm in storage and the one it thinks it armed. */
export interface PoolSnapshot {
  rows: KeyRow[];
  freeCount: number;
  leaseSeq: number;
  /** The `pool_stats` row (GET /pools/{pool}): stored keys and event counters. */
  stats: Record<string, number>;
  alarm: number | null;
  armedAt: number | null;
}

export function snapshot(stub: DurableObjectStub<KeyPool>): Promise<PoolSnapshot> {
  return runInDurableObject(stub, async (instance, state) => {
    const sql = state.storage.sql;
    const rows = sql
      .exec<KeyColumns>(
        "SELECT id, created_at, last_activity, expires_at, blocked_at, release_at, lease, free_slot FROM keys ORDER BY id",
      )
      .toArray()
      .map((row) => ({ ...row, id: bytesToUuid(row.id) }));
    const meta = sql
      .exec<{ free_count: number; lease_seq: number }>("SELECT free_count, lease_seq FROM pool_meta")
      .one();
    return {
      rows,
      freeCount: meta.free_count,
      leaseSeq: meta.lease_seq,
      stats: sql.exec<Record<string, number>>("SELECT * FROM pool_stats").one(),
      alarm: await state.storage.getAlarm(),
      armedAt: internalsOf(instance).alarm.armedAt,
    };
  });
}

/**
 * Storage invariants that hold whatever happened: the free-slot array is a dense permutation of the
 * free keys, a block has all three of its columns, leases are unique, deadlines follow exactly from
 * the times they derive from, and the alarm (the one stored and the one the object remembers) is
 * never later than the earliest deadline still in storage.
 */
export function checkStorage(s: PoolSnapshot): void {
  const slots = new Set<number>();
  const leases = new Set<number>();
  for (const row of s.rows) {
    const blockColumns = [row.blocked_at, row.release_at, row.lease].filter((v) => v !== null).length;
    if (blockColumns !== 0 && blockColumns !== 3) fail(`key ${row.id} has a partial block`, row);
    const blocked = blockColumns === 3;
    if (blocked === (row.free_slot !== null))
      fail(`key ${row.id}: blocked and in a free slot, or free and in none`, row);
    if (row.free_slot !== null) {
      if (slots.has(row.free_slot)) fail(`free slot ${row.free_slot} is taken twice`, row);
      slots.add(row.free_slot);
    }
    if (row.lease !== null) {
      if (leases.has(row.lease)) fail(`lease ${row.lease} is held twice`, row);
      leases.add(row.lease);
      if (row.lease > s.leaseSeq) fail(`lease ${row.lease} is beyond the lease counter ${s.leaseSeq}`, row);
    }
    if (row.expires_at !== row.last_activity + KEY_TTL_MS)
      fail(`key ${row.id}: expiry is not lastActivity + KEY_TTL_MS`, row);
    if (blocked && row.release_at !== (row.blocked_at as number) + BLOCK_TTL_MS) {
      fail(`key ${row.id}: release is not blockedAt + BLOCK_TTL_MS`, row);
    }
  }
  if (slots.size !== s.freeCount) fail(`${slots.size} free keys but free_count ${s.freeCount}`, s);
  if (s.stats.total !== s.rows.length) fail(`${s.rows.length} keys stored but pool_stats.total ${s.stats.total}`, s);
  for (let slot = 0; slot < s.freeCount; slot++) if (!slots.has(slot)) fail(`free slot ${slot} is empty`, s);

  if (s.alarm !== s.armedAt) fail(`alarm in storage ${s.alarm}, but the object believes ${s.armedAt}`, s);
  const deadlines = s.rows.map((row) => Math.min(row.expires_at, row.release_at ?? Number.POSITIVE_INFINITY));
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

function fail(message: string, context: unknown): never {
  throw new Error(`${message}\n${JSON.stringify(context)}`);
}

/** The real Durable Object behind a stub, as a system under a model test. */
export class DurablePool implements PoolUnderTest {
  constructor(
    readonly stub: DurableObjectStub<KeyPool>,
    private readonly clock: FakeClock,
  ) {}

  create = (count: number) => addKeys(this.stub, count);
  assign = () => this.stub.assign() as Promise<Outcome<Assignment>>;
  reveal = (id: string) => this.stub.reveal(id) as Promise<Outcome<{ keyId: string; key: string }>>;
  info = (id: string) => this.stub.info(id) as Promise<Outcome<KeyInfo>>;
  remove = (id: string) => this.stub.remove(id) as Promise<Outcome<{ keyId: string }>>;
  setBlocked = (id: string, blocked: boolean, lease?: number) =>
    this.stub.setBlocked(id, blocked, lease) as Promise<Outcome<BlockResult>>;
  keepAlive = (id: string, lease?: number) => this.stub.keepAlive(id, lease) as Promise<Outcome<KeyInfo>>;

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
