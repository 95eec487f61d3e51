/**
 * The reference model of one pool, written from the README's contract and nothing else: it keeps
 * only the facts a client can know (when a key was created, last kept alive, blocked, under which
 * lease, whether it was deleted) and derives every deadline and every answer from them at the moment
 * of asking. It never looks at src/pool/rules.ts, so a wrong rule cannot hide behind a wrong model.
 * Alarms do not exist here: they clean storage up but must never change an answer.
 */

import type { Outcome } from "../../src/outcome";
import type { KeyInfo } from "../../src/pool/views";
import { BLOCK_TTL_MS, iso, KEY_TTL_MS } from "./timings";

/** The deployed defaults in wrangler.toml, which the Durable Object tests run with. */

export interface ModelKey {
  readonly id: string;
  /** The secret, once the pool has shown it (assign or reveal); it must never change. */
  value: string | null;
  readonly createdAt: number;
  lastActivity: number;
  block: { blockedAt: number; lease: number } | null;
  deleted: boolean;
}

export class PoolModel {
  /** Every key ever created, by lower-case id (UUIDs compare case-insensitively). */
  readonly keys = new Map<string, ModelKey>();
  /** Every id ever created, in order, so commands can name keys by position. */
  readonly ids: string[] = [];
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
  heldBlock(key: ModelKey): { blockedAt: number; lease: number } | null {
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
    };
  }

  created(ids: readonly string[]): void {
    for (const id of ids) {
      const lower = id.toLowerCase();
      if (this.keys.has(lower)) throw new Error(`the pool handed out id ${id} twice`);
      this.keys.set(lower, {
        id: lower,
        value: null,
        createdAt: this.now,
        lastActivity: this.now,
        block: null,
        deleted: false,
      });
      this.ids.push(lower);
    }
  }

  /** Records an assignment the pool made, after checking it was allowed; returns what it must have answered. */
  assigned(keyId: string, value: string): { keyId: string; key: string; lease: number; releaseAt: string } {
    const key = this.live(keyId);
    if (key === null || this.heldBlock(key) !== null) throw new Error(`assigned ${keyId}, which is not free`);
    this.learn(key, value);
    key.block = { blockedAt: this.now, lease: ++this.leaseSeq };
    return { keyId: key.id, key: key.value as string, lease: this.leaseSeq, releaseAt: iso(this.now + this.blockTtl) };
  }

  /** What revealing `id` must answer; `shown` is the value the pool showed, learned if new. */
  reveal(id: string, shown: string | undefined): Outcome<{ keyId: string; key: string }> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    if (this.heldBlock(key) !== null) return { ok: false, refusal: "blocked" };
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

  setBlocked(id: string, blocked: boolean, lease?: number): Outcome<KeyInfo & { lease?: number }> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    const held = this.heldBlock(key);
    if (lease !== undefined && held?.lease !== lease) return { ok: false, refusal: "lease_conflict" };
    if (!blocked) {
      key.block = null;
      return { ok: true, value: this.info(key) };
    }
    if (held !== null && lease === undefined) return { ok: false, refusal: "held" };
    key.block = { blockedAt: this.now, lease: lease ?? ++this.leaseSeq };
    return { ok: true, value: { ...this.info(key), lease: key.block.lease } };
  }

  keepAlive(id: string, lease?: number): Outcome<KeyInfo> {
    const key = this.live(id);
    if (key === null) return { ok: false, refusal: "not_found" };
    if (lease !== undefined && this.heldBlock(key)?.lease !== lease) return { ok: false, refusal: "lease_conflict" };
    key.lastActivity = this.now;
    return { ok: true, value: this.info(key) };
  }

  /** A key's secret never changes: the first one seen is the one every later answer must show. */
  private learn(key: ModelKey, value: string): void {
    if (key.value === null) key.value = value;
    else if (key.value !== value) throw new Error(`key ${key.id} changed its value`);
  }
}
