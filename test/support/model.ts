/**
 * The reference model of one pool, written from the README's contract and nothing else: it keeps
 * only the facts a client can know (when a key was created, last kept alive, blocked, under which
 * lease, whether it was deleted) and derives every deadline and every answer from them at the moment
 * of asking. It never looks at src/pool/rules.ts, so a wrong rule cannot hide behind a wrong model.
 * Alarms do not exist here: they clean storage up but must never change an answer.
 */

import type { Outcome } from "../../src/outcome";
import type { ReportOutcome } from "../../src/pool/rules";
import type { BlockChange, KeyInfo } from "../../src/pool/views";
import { BLOCK_TTL_MS, iso, KEY_TTL_MS } from "./timings";

export interface ModelKey {
  readonly id: string;
  /** The secret, once the pool has shown it (assign or reveal), or as imported; it must never change. */
  value: string | null;
  /** An imported key: its value was given, and goes to the holder of its block only. */
  readonly imported: boolean;
  readonly label: string | null;
  readonly createdAt: number;
  lastActivity: number;
  /** The latest block, with its holder's secret (a hex string standing for its digest). */
  block: { blockedAt: number; lease: number; holder: string } | null;
  deleted: boolean;
  /** Until when reports (or a lock-delay folded in when its block was ended) keep it cooling; null: never did. */
  cooledUntil: number | null;
  disabled: boolean;
  failures: number;
  lastOutcome: ReportOutcome | null;
  lastReportAt: number | null;
}

/** A report, as the model takes it: README, "Keys that react to their upstream". */
export interface ModelReport {
  readonly outcome: ReportOutcome;
  readonly retryAfterMs?: number | undefined;
  readonly release?: boolean | undefined;
}

/** Who acts, and what they present as the holder: README, "Leases" and "Access control". */
export interface ModelClaim {
  readonly admin: boolean;
  readonly lease?: number | undefined;
  readonly holder?: string | undefined;
}

export class PoolModel {
  /** Every key ever created, by lower-case id (UUIDs compare case-insensitively). */
  readonly keys = new Map<string, ModelKey>();
  /** Every id ever created, in order, so commands can name keys by position. */
  readonly ids: string[] = [];
  /** The holder secrets handed out so far (each new one is new). */
  private holders = 0;
  /** The last lease handed out: every new block takes the next one. */
  leaseSeq = 0;

  constructor(
    public now: number,
    readonly keyTtl = KEY_TTL_MS,
    readonly blockTtl = BLOCK_TTL_MS,
    /** The pool's lock-delay: a block that runs out cools its key this long after its release. */
    readonly lockDelay = 0,
    /** The pool's cooldown for reports with no wait, and the failures that start one. */
    readonly cooldown = 60_000,
    readonly maxFailures = 3,
  ) {}

  /** The key if it exists right now: created, not deleted, and strictly before its expiry. */
  live(id: string): ModelKey | null {
    const key = this.keys.get(id.toLowerCase());
    if (key === undefined || key.deleted || this.now >= key.lastActivity + this.keyTtl) return null;
    return key;
  }

  /** The key's block if it still holds right now (strictly before its release). */
  heldBlock(key: ModelKey): { blockedAt: number; lease: number; holder: string } | null {
    return key.block !== null && this.now < key.block.blockedAt + this.blockTtl ? key.block : null;
  }

  /**
   * Until when the key cools down, if it does right now: what reports set, and, when its block ran out
   * (nobody released it), the pool's lock-delay after that block's release.
   */
  coolingUntil(key: ModelKey): number | null {
    const times = [key.cooledUntil ?? 0];
    if (key.block !== null && this.heldBlock(key) === null && this.lockDelay > 0) {
      times.push(key.block.blockedAt + this.blockTtl + this.lockDelay);
    }
    const until = Math.max(...times);
    return until > this.now ? until : null;
  }

  /** What the key is right now: disabled, blocked, cooling or free. */
  state(key: ModelKey): KeyInfo["state"] {
    if (key.disabled) return "disabled";
    if (this.heldBlock(key) !== null) return "blocked";
    return this.coolingUntil(key) === null ? "free" : "cooling";
  }

  /** Live free keys: exactly the keys an assignment may hand out. */
  freeKeys(): ModelKey[] {
    return [...this.keys.values()].filter((key) => this.live(key.id) !== null && this.state(key) === "free");
  }

  /**
   * What an assignment finding no free key answers: 404, with when a key may be free (README, "When no
   * key is free"): the earliest end of a block (and its lock-delay) or of a cooldown, in whole seconds
   * rounded up; none when no key is on its way to being free.
   */
  noneFree(): Outcome<never> {
    const times: number[] = [];
    for (const key of this.keys.values()) {
      if (this.live(key.id) === null || key.disabled) continue;
      const held = this.heldBlock(key);
      const cooling = this.coolingUntil(key);
      if (held !== null) times.push(held.blockedAt + this.blockTtl + this.lockDelay);
      else if (cooling !== null) times.push(cooling);
    }
    if (times.length === 0) return { ok: false, refusal: "none_free" };
    const retryAfterSeconds = Math.max(0, Math.ceil((Math.min(...times) - this.now) / 1000));
    return { ok: false, refusal: "none_free", retryAfterSeconds };
  }

  /** Every deadline still ahead of a live key: its expiry, its release while blocked, the end of its cooldown. */
  pendingDeadlines(): number[] {
    const deadlines: number[] = [];
    for (const key of this.keys.values()) {
      if (this.live(key.id) === null) continue;
      deadlines.push(key.lastActivity + this.keyTtl);
      const held = this.heldBlock(key);
      if (held !== null)
        deadlines.push(held.blockedAt + this.blockTtl, held.blockedAt + this.blockTtl + this.lockDelay);
      const cooling = this.coolingUntil(key);
      if (cooling !== null) deadlines.push(cooling);
    }
    return deadlines.sort((a, b) => a - b);
  }

  info(key: ModelKey): KeyInfo {
    const held = this.heldBlock(key);
    return {
      isBlocked: held !== null,
      createdAt: iso(key.createdAt),
      expiresAt: iso(key.lastActivity + this.keyTtl),
      lastActivity: iso(key.lastActivity),
      blockedAt: held === null ? null : iso(held.blockedAt),
      releaseAt: held === null ? null : iso(held.blockedAt + this.blockTtl),
      source: key.imported ? "imported" : "generated",
      label: key.label,
      // README: the last 4 characters of an imported value of 12 characters or more.
      hint:
        key.imported && key.value !== null && [...key.value].length >= 12 ? [...key.value].slice(-4).join("") : null,
      state: this.state(key),
      coolingUntil: this.state(key) === "cooling" ? iso(this.coolingUntil(key) as number) : null,
      failures: key.failures,
      lastOutcome: key.lastOutcome,
      lastReportAt: key.lastReportAt === null ? null : iso(key.lastReportAt),
    };
  }

  /** Records keys the pool created (generated), or imported with these values and labels. */
  created(ids: readonly string[], imported?: readonly { key: string; label?: string }[]): void {
    for (const [index, id] of ids.entries()) {
      const lower = id.toLowerCase();
      if (this.keys.has(lower)) throw new Error(`the pool handed out id ${id} twice`);
      const entry = imported?.[index];
      this.keys.set(lower, {
        id: lower,
        value: entry?.key ?? null,
        imported: entry !== undefined,
        label: entry?.label ?? null,
        createdAt: this.now,
        lastActivity: this.now,
        block: null,
        deleted: false,
        cooledUntil: null,
        disabled: false,
        failures: 0,
        lastOutcome: null,
        lastReportAt: null,
      });
      this.ids.push(lower);
    }
  }

  /** Every value imported so far, in order (of keys still live or not). */
  importedValues(): string[] {
    return [...this.keys.values()].filter((key) => key.imported).map((key) => key.value as string);
  }

  /**
   * What importing `entries` must be refused with, or null when it must succeed: README, "Keys you
   * bring": a value held by a live key of the pool, or given twice, is refused, and nothing imported.
   */
  importRefusal(entries: readonly { key: string }[]): Outcome<string[]> | null {
    const details: { path: string; message: string; keyId?: string }[] = [];
    const first = new Map<string, number>();
    entries.forEach(({ key: value }, index) => {
      const path = `body.keys.${index}.key`;
      const holder = [...this.keys.values()].find((key) => key.imported && key.value === value && this.live(key.id));
      if (holder !== undefined) details.push({ path, message: "This value is in the pool already", keyId: holder.id });
      else if (first.has(value)) details.push({ path, message: `The same value as body.keys.${first.get(value)}.key` });
      else first.set(value, index);
    });
    return details.length === 0 ? null : { ok: false, refusal: "duplicate_values", details };
  }

  /** A new holder secret, for a block the next call may start. */
  nextHolder(): string {
    return (++this.holders).toString(16).padStart(64, "0");
  }

  /**
   * Whether `claim` proves it holds `key`'s block: the block holds, every part given is the block's,
   * and anyone but an admin gives the holder's secret.
   */
  holds(key: ModelKey, claim: ModelClaim): boolean {
    const held = this.heldBlock(key);
    if (held === null) return false;
    if (claim.lease !== undefined && claim.lease !== held.lease) return false;
    return claim.holder === undefined ? claim.admin : claim.holder === held.holder;
  }

  /** Records an assignment the pool made, after checking it was allowed; returns what it must have answered. */
  assigned(
    keyId: string,
    value: string,
    holder: string,
  ): { keyId: string; key: string; lease: number; releaseAt: string } {
    const key = this.live(keyId);
    if (key === null || this.state(key) !== "free") throw new Error(`assigned ${keyId}, which is not free`);
    this.learn(key, value);
    key.block = { blockedAt: this.now, lease: ++this.leaseSeq, holder };
    return { keyId: key.id, key: key.value as string, lease: this.leaseSeq, releaseAt: iso(this.now + this.blockTtl) };
  }

  /**
   * What revealing `id` must answer, to a caller presenting `holder`; `shown` is the value the pool
   * showed, learned if new. The holder reads its key; anyone reads a generated key nobody holds; an
   * imported key's value goes to its holder only.
   */
  reveal(id: string, shown: string | undefined, holder?: string): Outcome<{ keyId: string; key: string }> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    const isHolder = holder !== undefined && this.holds(key, { admin: false, holder });
    if (!isHolder && key.imported) return { ok: false, refusal: "imported_value" };
    if (!isHolder && this.heldBlock(key) !== null) return { ok: false, refusal: "blocked" };
    if (shown !== undefined) this.learn(key, shown);
    return { ok: true, value: { keyId: key.id, key: key.value ?? "(never shown)" } };
  }

  infoOf(id: string): Outcome<KeyInfo> {
    const key = this.live(id);
    return key === null ? { ok: false, refusal: "not_found" } : { ok: true, value: this.info(key) };
  }

  remove(id: string): Outcome<{ keyId: string }> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    key.deleted = true;
    return { ok: true, value: { keyId: key.id } };
  }

  /**
   * Blocks or unblocks, as the holder (a lease or a secret given: it must prove it) or as an admin
   * (any key); a block started is `newHolder`'s.
   */
  setBlocked(id: string, blocked: boolean, claim: ModelClaim, newHolder: string): Outcome<BlockChange> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    const held = this.heldBlock(key);
    const asHolder = claim.lease !== undefined || claim.holder !== undefined;
    if (asHolder && !this.holds(key, claim)) return { ok: false, refusal: "lease_conflict" };
    if (!asHolder && !claim.admin) return { ok: false, refusal: "not_holder" };
    if (!blocked) {
      this.endBlock(key);
      return { ok: true, value: { ...this.info(key), startedBlock: false } };
    }
    if (held !== null && !asHolder) return { ok: false, refusal: "held" };
    if (key.disabled) return { ok: false, refusal: "key_disabled" };
    // An admin's block takes a cooling key too: its cooldown is over then.
    if (held === null) key.cooledUntil = null;
    key.block =
      held === null
        ? { blockedAt: this.now, lease: ++this.leaseSeq, holder: newHolder }
        : { ...held, blockedAt: this.now };
    return { ok: true, value: { ...this.info(key), lease: key.block.lease, startedBlock: held === null } };
  }

  keepAlive(id: string, claim: ModelClaim): Outcome<KeyInfo> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    const asHolder = claim.lease !== undefined || claim.holder !== undefined;
    if (asHolder && !this.holds(key, claim)) return { ok: false, refusal: "lease_conflict" };
    key.lastActivity = this.now;
    return { ok: true, value: this.info(key) };
  }

  /**
   * A report, as the holder (proven by its secret) or as an admin on any key: rate_limited ends the
   * block and cools the key until the later of its cooldown and now + the wait; unauthorized ends the
   * block and disables it; error counts a failure, and at maxFailures cools it as rate_limited does and
   * counts anew; ok forgets the failures. release frees the key after ok or an error that cooled nothing.
   */
  report(id: string, claim: ModelClaim, r: ModelReport): Outcome<KeyInfo> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    const asHolder = claim.lease !== undefined || claim.holder !== undefined;
    if (!this.holds(key, claim) && (asHolder || !claim.admin)) return { ok: false, refusal: "lease_conflict" };
    key.lastOutcome = r.outcome;
    key.lastReportAt = this.now;
    // A disabled key is only disabled: it neither holds a block nor cools down.
    const coolFor = () => {
      const until = Math.max(this.coolingUntil(key) ?? 0, this.now + (r.retryAfterMs ?? this.cooldown));
      this.endBlock(key);
      if (!key.disabled) key.cooledUntil = until;
    };
    if (r.outcome === "rate_limited") coolFor();
    else if (r.outcome === "unauthorized") {
      this.endBlock(key);
      key.cooledUntil = null;
      key.disabled = true;
    } else if (r.outcome === "error" && key.failures + 1 >= this.maxFailures) {
      coolFor();
      key.failures = 0;
    } else {
      key.failures = r.outcome === "error" ? key.failures + 1 : 0;
      if (r.release) this.endBlock(key);
    }
    return { ok: true, value: this.info(key) };
  }

  /** An admin disables a key (its block ends) or enables it (its failures forgotten). */
  setDisabled(id: string, disabled: boolean): Outcome<KeyInfo> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    if (disabled && !key.disabled) {
      this.endBlock(key);
      key.cooledUntil = null;
      key.disabled = true;
    } else if (!disabled) {
      key.disabled = false;
      key.failures = 0;
    }
    return { ok: true, value: this.info(key) };
  }

  /** The key's block ends now; a lock-delay it ran into stays as its cooldown. */
  private endBlock(key: ModelKey): void {
    key.cooledUntil = this.coolingUntil(key);
    key.block = null;
  }

  /** A key's secret never changes: the first one seen is the one every later answer must show. */
  private learn(key: ModelKey, value: string): void {
    if (key.value === null) key.value = value;
    else if (key.value !== value) throw new Error(`key ${key.id} changed its value`);
  }
}
