import fc from "fast-check";
import { it } from "vitest";
import { type Outcome, ok, refuse } from "../../src/outcome";
import { hintOf } from "../../src/pool/limits";
import type { KeyRecord } from "../../src/pool/rules";
import * as rules from "../../src/pool/rules";
import { type BlockChange, iso, type KeyInfo, type OpenedGrant, toInfo } from "../../src/pool/views";
import { bytesOf, claimOf } from "../support/durable-pool";
import { type ModelClaim, type ModelReport, PoolModel } from "../support/model";
import { type ImportedEntry, type PoolUnderTest, poolCommands, same, Tally } from "../support/model-commands";
import { newKey } from "../support/records";
import { scaled } from "../support/scale";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

const timings = { keyTtlMs: KEY_TTL_MS, blockTtlMs: BLOCK_TTL_MS };
/** The pool's report policy, as the model's defaults. */
const POLICY = { cooldownMs: 60_000, maxFailures: 3 };
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0, 0);

/**
 * A pool made of nothing but the pure rules and a Map: what the Durable Object does, minus storage,
 * so a rule that disagrees with the contract shows up here first, with a readable shrunk sequence.
 */
class RulesPool implements PoolUnderTest {
  private readonly records = new Map<string, KeyRecord>();
  private leaseSeq = 0;
  private made = 0;

  constructor(private now: number) {}

  async create(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = ++this.made;
      const secret = { bytes: new TextEncoder().encode(fakeUuid(1_000_000 + n)), sealedBy: null };
      const record = rules.createKey({ ...newKey(fakeUuid(n)), secret }, this.now, timings.keyTtlMs);
      this.records.set(record.keyId, record);
      ids.push(record.keyId);
    }
    return ids;
  }

  async importKeys(entries: readonly ImportedEntry[]): Promise<Outcome<string[]>> {
    // The pure rules know nothing of duplicates (the store finds them); only new values come here.
    return ok(
      entries.map(({ key: value, label }) => {
        const keyId = fakeUuid(++this.made);
        const secret = { bytes: new TextEncoder().encode(value), sealedBy: null };
        const key = { keyId, secret, source: "imported" as const, label: label ?? null, hint: hintOf(value) };
        this.put(rules.createKey(key, this.now, timings.keyTtlMs));
        return keyId;
      }),
    );
  }

  async assign(pick: number, holder: string): Promise<Outcome<OpenedGrant>> {
    const free = [...this.records.keys()]
      .map((id) => this.current(id))
      .filter((r) => r !== null && rules.stateOf(r) === "free");
    const chosen = free[pick % Math.max(1, free.length)];
    if (chosen == null) return this.noneFree();
    const blocked = rules.block(chosen, this.now, { lease: ++this.leaseSeq, digest: bytesOf(holder) }, BLOCK_TTL_MS);
    this.records.set(blocked.keyId, blocked);
    return ok({
      keyId: blocked.keyId,
      key: storedValue(blocked),
      lease: blocked.block.lease,
      releaseAt: iso(blocked.block.releaseAt),
    });
  }

  async reveal(id: string, claim: ModelClaim): Promise<Outcome<{ keyId: string; key: string }>> {
    const current = this.current(id);
    if (current === null) return refuse("not_found");
    const { holder } = claimOf(claim);
    const isHolder = holder !== undefined && rules.holds(current, { admin: false, holder });
    if (!isHolder && current.source === "imported") return refuse("imported_value");
    return current.block === null || isHolder
      ? ok({ keyId: current.keyId, key: storedValue(current) })
      : refuse("blocked");
  }

  async info(id: string): Promise<Outcome<KeyInfo>> {
    const current = this.current(id);
    return current === null ? refuse("not_found") : ok(toInfo(current));
  }

  async remove(id: string): Promise<Outcome<{ keyId: string }>> {
    const current = this.current(id);
    if (current === null) return refuse("not_found");
    this.records.delete(current.keyId);
    return ok({ keyId: current.keyId });
  }

  async setBlocked(
    id: string,
    blocked: boolean,
    modelClaim: ModelClaim,
    newHolder: string,
  ): Promise<Outcome<BlockChange>> {
    const current = this.current(id);
    if (current === null) return refuse("not_found");
    const claim = claimOf(modelClaim);
    const asHolder = rules.claimsHolding(claim);
    if (asHolder && !rules.holds(current, claim)) return refuse("lease_conflict");
    if (!asHolder && !claim.admin) return refuse("not_holder");
    if (!blocked) return ok({ ...toInfo(this.put(rules.unblock(current))), startedBlock: false });
    if (current.block !== null && !asHolder) return refuse("held");
    if (current.disabledAt !== null) return refuse("key_disabled");
    const next = rules.isBlocked(current)
      ? rules.renew(current, this.now)
      : rules.block(current, this.now, { lease: ++this.leaseSeq, digest: bytesOf(newHolder) }, BLOCK_TTL_MS);
    this.put(next);
    return ok({ ...toInfo(next), lease: next.block.lease, startedBlock: current.block === null });
  }

  async keepAlive(id: string, modelClaim: ModelClaim): Promise<Outcome<KeyInfo>> {
    const current = this.current(id);
    if (current === null) return refuse("not_found");
    const claim = claimOf(modelClaim);
    if (rules.claimsHolding(claim) && !rules.holds(current, claim)) return refuse("lease_conflict");
    return ok(toInfo(this.put(rules.keepAlive(current, this.now, timings.keyTtlMs))));
  }

  async report(id: string, modelClaim: ModelClaim, r: ModelReport): Promise<Outcome<KeyInfo>> {
    const current = this.current(id);
    if (current === null) return refuse("not_found");
    const claim = claimOf(modelClaim);
    if (!rules.holds(current, claim) && (rules.claimsHolding(claim) || !claim.admin)) return refuse("lease_conflict");
    return ok(toInfo(this.put(rules.report(current, this.now, r, POLICY).next)));
  }

  async setDisabled(id: string, disabled: boolean): Promise<Outcome<KeyInfo>> {
    const current = this.current(id);
    if (current === null) return refuse("not_found");
    return ok(toInfo(this.put(rules.setDisabled(current, this.now, disabled))));
  }

  /** No free key: when one may be, as the pool reads it from its stored deadlines. */
  private noneFree(): Outcome<never> {
    const times = [...this.records.keys()]
      .map((id) => this.current(id))
      .filter((r): r is KeyRecord => r !== null && r.disabledAt === null)
      .map((r) => r.block?.releaseAt ?? r.coolingUntil)
      .filter((at): at is number => at !== null);
    if (times.length === 0) return refuse("none_free");
    return refuse("none_free", { retryAfterSeconds: Math.max(0, Math.ceil((Math.min(...times) - this.now) / 1000)) });
  }

  setNow(now: number): void {
    this.now = now;
  }

  /** What the alarm does: apply every due deadline. Whether it runs must never change an answer. */
  async fireAlarm(): Promise<void> {
    for (const id of [...this.records.keys()]) this.current(id);
  }

  async restart(): Promise<void> {}

  async failingAlarm(): Promise<void> {
    throw new Error("the pure pool has no storage to fail");
  }

  async checkInvariants(model: PoolModel): Promise<void> {
    for (const id of model.ids) {
      const key = model.live(id);
      const stored = this.records.get(id);
      const current = stored === undefined ? null : rules.settle(stored, this.now);
      if (key === null) {
        if (current !== null) throw new Error(`gone key ${id} is still live`);
        continue;
      }
      if (stored === undefined || current === null) throw new Error(`live key ${id} is missing`);
      same(toInfo(current), model.info(key), `info of ${id}`);
      same(current.block?.lease, model.heldBlock(key)?.lease, `lease of ${id}`);
      // Deadlines are exactly derived from the activity times they follow.
      same(stored.expiresAt, stored.lastActivity + KEY_TTL_MS, `expiry of ${id}`);
      if (stored.block !== null)
        same(stored.block.releaseAt, stored.block.blockedAt + BLOCK_TTL_MS, `release of ${id}`);
      // The deadline the pool would arm for is this key's earliest pending one.
      const held = model.heldBlock(key);
      const deadlines = [key.lastActivity + KEY_TTL_MS, model.coolingUntil(key) ?? Number.POSITIVE_INFINITY];
      if (held !== null) deadlines.push(held.blockedAt + BLOCK_TTL_MS);
      same(rules.nextDeadline(current), Math.min(...deadlines), `deadline of ${id}`);
    }
    const deadlines = [...this.records.values()].map(rules.nextDeadline);
    const armed = Math.min(...deadlines.filter((deadline) => deadline !== null));
    const earliest = model.pendingDeadlines()[0];
    if (earliest !== undefined && armed > earliest)
      throw new Error(`armed for ${armed}, after the earliest deadline ${earliest}`);
  }

  private current(id: string): KeyRecord | null {
    const stored = this.records.get(id.toLowerCase());
    if (stored === undefined) return null;
    const current = rules.settle(stored, this.now);
    if (current === null) this.records.delete(stored.keyId);
    else this.records.set(current.keyId, current);
    return current;
  }

  private put(record: KeyRecord): KeyRecord {
    this.records.set(record.keyId, record);
    return record;
  }
}

/** The value of a key here: stored as it is, as UTF-8. */
function storedValue(record: KeyRecord): string {
  return new TextDecoder().decode(record.secret.bytes);
}

function fakeUuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

it("the pure rules agree with the reference model over long random sequences of every operation", async () => {
  const tally = new Tally();
  await fc.assert(
    fc.asyncProperty(
      fc.commands(poolCommands({ faults: false, duplicates: false }), { maxCommands: 100, size: "max" }),
      async (commands) => {
        await fc.asyncModelRun(() => ({ model: new PoolModel(T0), real: new RulesPool(T0) }), commands);
        tally.add(commands);
      },
    ),
    { numRuns: scaled(1000) },
  );
  console.log(`rules model: ${tally}`);
}, 120_000);
