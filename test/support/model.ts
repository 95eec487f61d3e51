/**
 * The reference model of one pool, written from the README's contract and nothing else: it keeps
 * only the facts a client can know (when a key was created, last kept alive, blocked, under which
 * lease, whether it was deleted) and derives every deadline and every answer from them at the moment
 * of asking. It never looks at src/pool/rules.ts, so a wrong rule cannot hide behind a wrong model.
 * Alarms do not exist here: they clean storage up but must never change an answer.
 */

import type { Outcome } from "../../src/outcome";
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

  /** Live keys nobody holds: exactly the keys an assignment may hand out. */
  freeKeys(): ModelKey[] {
    return [...this.keys.values()].filter((key) => this.live(key.id) !== null && this.heldBlock(key) === null);
  }

  /** Every deadline still ahead of a live key: its expiry, and its release while blocked. */
  pendingDeadlines(): number[] {
    const deadlines: number[] = [];
    for (const key of this.keys.values()) {
      if (this.live(key.id) === null) continue;
      deadlines.push(key.lastActivity + this.keyTtl);
      const held = this.heldBlock(key);
      if (held !== null) deadlines.push(held.blockedAt + this.blockTtl);
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
    if (key === null || this.heldBlock(key) !== null) throw new Error(`assigned ${keyId}, which is not free`);
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
      key.block = null;
      return { ok: true, value: { ...this.info(key), startedBlock: false } };
    }
    if (held !== null && !asHolder) return { ok: false, refusal: "held" };
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

  /** A key's secret never changes: the first one seen is the one every later answer must show. */
  private learn(key: ModelKey, value: string): void {
    if (key.value === null) key.value = value;
    else if (key.value !== value) throw new Error(`key ${key.id} changed its value`);
  }
}
