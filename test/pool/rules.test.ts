import { describe, expect, it } from "vitest";
import {
  block,
  claimsHolding,
  createKey,
  holds,
  type KeyRecord,
  keepAlive,
  nextDeadline,
  settle,
  unblock,
  uniformIndex,
} from "../../src/pool/rules";
import { toInfo } from "../../src/pool/views";
import { newKey } from "../support/records";

const timings = { keyTtlMs: 300_000, blockTtlMs: 60_000 };
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0, 0);
const fresh = (): KeyRecord => createKey(newKey("id-1"), T0, timings.keyTtlMs);
/** The holder secret digest of lease `n`'s block, in these tests. */
const digest = (n: number) => new Uint8Array(32).fill(n);
const held = (lease: number) => ({ lease, digest: digest(lease) });

describe("key lifetime", () => {
  it("a new key is free and expires exactly KEY_TTL after creation", () => {
    const key = fresh();
    expect(key).toMatchObject({ createdAt: T0, lastActivity: T0, expiresAt: T0 + 300_000, block: null });
  });

  it("a key is alive up to the millisecond before its expiry and gone at it", () => {
    const key = fresh();
    expect(settle(key, T0 + 299_999)).toBe(key);
    expect(settle(key, T0 + 300_000)).toBeNull();
  });

  it("keep-alive restarts the TTL from now, on a blocked key too", () => {
    const blocked = block(fresh(), T0 + 10, held(7), timings.blockTtlMs);
    const kept = keepAlive(blocked, T0 + 250_000, timings.keyTtlMs);
    expect(kept.lastActivity).toBe(T0 + 250_000);
    expect(kept.expiresAt).toBe(T0 + 550_000);
    expect(kept.block).toEqual(blocked.block);
    expect(kept.createdAt).toBe(T0);
  });
});

describe("blocks", () => {
  it("a block is released exactly BLOCK_TTL after it started", () => {
    const blocked = block(fresh(), T0 + 1_000, held(3), timings.blockTtlMs);
    expect(blocked.block).toEqual({ blockedAt: T0 + 1_000, releaseAt: T0 + 61_000, lease: 3, holder: digest(3) });
    expect(settle(blocked, T0 + 60_999)?.block).not.toBeNull();
    expect(settle(blocked, T0 + 61_000)?.block).toBeNull();
  });

  it("an expired blocked key is gone, not released", () => {
    const blocked = block(createKey(newKey("a"), T0, 30_000), T0, held(1), timings.blockTtlMs);
    expect(settle(blocked, T0 + 30_000)).toBeNull();
  });

  it("unblock drops the block and keeps the deadlines", () => {
    const key = unblock(block(fresh(), T0, held(1), timings.blockTtlMs));
    expect(key.block).toBeNull();
    expect(key.expiresAt).toBe(T0 + 300_000);
  });

  it("a claim is a holder's when it gives a lease or a secret", () => {
    expect(claimsHolding({ admin: true })).toBe(false);
    expect(claimsHolding({ admin: false, lease: 1 })).toBe(true);
    expect(claimsHolding({ admin: false, holder: digest(1) })).toBe(true);
  });

  it("proves holding only with the current block's secret, and every lease given must be its lease", () => {
    const blocked = block(fresh(), T0, held(5), timings.blockTtlMs);
    expect(holds(blocked, { admin: false, holder: digest(5) })).toBe(true);
    expect(holds(blocked, { admin: false, holder: digest(5), lease: 5 })).toBe(true);
    expect(holds(blocked, { admin: false, holder: digest(5), lease: 4 })).toBe(false);
    expect(holds(blocked, { admin: false, holder: digest(4) })).toBe(false);
    expect(holds(fresh(), { admin: false, holder: digest(5) })).toBe(false);
  });

  it("takes no lease alone as proof from a client, and takes an admin's lease as a fencing check", () => {
    const blocked = block(fresh(), T0, held(5), timings.blockTtlMs);
    expect(holds(blocked, { admin: false, lease: 5 })).toBe(false);
    expect(holds(blocked, { admin: true, lease: 5 })).toBe(true);
    expect(holds(blocked, { admin: true, lease: 6 })).toBe(false);
  });

  it("lets nobody prove holding a block made before holder secrets existed; an admin may still act on it", () => {
    const legacy = block(fresh(), T0, { lease: 5, digest: null }, timings.blockTtlMs);
    expect(holds(legacy, { admin: false, holder: digest(5) })).toBe(false);
    expect(holds(legacy, { admin: false, lease: 5 })).toBe(false);
    expect(holds(legacy, { admin: true, lease: 5 })).toBe(true);
  });

  it("the next deadline is the release while blocked, the expiry otherwise", () => {
    expect(nextDeadline(fresh())).toBe(T0 + 300_000);
    expect(nextDeadline(block(fresh(), T0, held(1), timings.blockTtlMs))).toBe(T0 + 60_000);
    const lateBlock = block(fresh(), T0 + 280_000, held(1), timings.blockTtlMs);
    expect(nextDeadline(lateBlock)).toBe(T0 + 300_000);
  });
});

describe("info", () => {
  it("shows ISO-8601 UTC times with milliseconds and no key value", () => {
    const info = toInfo(block(fresh(), T0 + 5, held(2), timings.blockTtlMs));
    expect(info).toEqual({
      isBlocked: true,
      createdAt: "2026-11-25T12:00:00.000Z",
      expiresAt: "2026-11-25T12:05:00.000Z",
      lastActivity: "2026-11-25T12:00:00.000Z",
      blockedAt: "2026-11-25T12:00:00.005Z",
      releaseAt: "2026-11-25T12:01:00.005Z",
      source: "generated",
      label: null,
      hint: null,
      state: "blocked",
      coolingUntil: null,
      failures: 0,
      lastOutcome: null,
      lastReportAt: null,
    });
    expect(JSON.stringify(info)).not.toContain("secret-1");
  });

  it("shows null block times for a free key", () => {
    expect(toInfo(fresh())).toMatchObject({ isBlocked: false, blockedAt: null, releaseAt: null });
  });
});

describe("uniform choice", () => {
  it("maps words below the rejection limit with a modulo", () => {
    expect(uniformIndex(10, () => 23)).toBe(3);
    expect(uniformIndex(1, () => 2 ** 32 - 1)).toBe(0);
  });

  it("redraws words in the biased tail instead of folding them onto low indexes", () => {
    // For n = 3, 2^32 mod 3 = 1, so the single word 2^32 - 1 is in the biased tail.
    const words = [2 ** 32 - 1, 7];
    expect(uniformIndex(3, () => words.shift() as number)).toBe(1);
    expect(words).toEqual([]);
  });

  it("chooses every index about equally often", () => {
    const n = 7;
    const counts = new Array<number>(n).fill(0);
    const draws = 70_000;
    const word = () => crypto.getRandomValues(new Uint32Array(1))[0] as number;
    for (let i = 0; i < draws; i++) {
      const index = uniformIndex(n, word);
      counts[index] = (counts[index] ?? 0) + 1;
    }
    // Chi-square with 6 degrees of freedom: 22.46 is the 0.999 quantile, so this fails by chance 1 in 1000.
    const expected = draws / n;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(22.46);
  });

  it("rejects an empty range", () => {
    expect(() => uniformIndex(0, () => 0)).toThrow(RangeError);
  });
});
