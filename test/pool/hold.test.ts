import { describe, expect, it } from "vitest";
import { block, createKey, holdFor, renew, settle } from "../../src/pool/rules";
import { newKey } from "../support/records";

const timings = { keyTtlMs: 300_000, blockTtlMs: 60_000 };
const MAX_HOLD = 3_600_000;
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0, 0);
const holder = (lease: number) => ({ lease, digest: new Uint8Array(32).fill(lease) });

describe("hold time", () => {
  it("is the pool's block time unless the assignment asks for one", () => {
    expect(holdFor(undefined, timings, MAX_HOLD)).toBe(60_000);
    expect(holdFor(600, timings, MAX_HOLD)).toBe(600_000);
  });

  it("accepts whole seconds from 1 to MAX_HOLD_SECONDS and nothing else", () => {
    expect(holdFor(1, timings, MAX_HOLD)).toBe(1_000);
    expect(holdFor(3600, timings, MAX_HOLD)).toBe(3_600_000);
    for (const bad of [0, -1, 1.5, 3601, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(holdFor(bad, timings, MAX_HOLD), String(bad)).toBeNull();
    }
    expect(holdFor(11, timings, 10_000)).toBeNull();
  });

  it("a block with a hold of its own is released exactly that long after it started", () => {
    const longLived = { ...timings, keyTtlMs: 3_600_000 }; // so the key outlives the hold
    const held = block(createKey(newKey("a"), T0, longLived.keyTtlMs), T0, holder(4), 600_000);
    expect(held.block).toMatchObject({ blockedAt: T0, releaseAt: T0 + 600_000, lease: 4 });
    expect(settle(held, T0 + 599_999)?.block).not.toBeNull();
    expect(settle(held, T0 + 600_000)?.block).toBeNull();
  });
});

describe("renewal", () => {
  it("restarts the block from now with the same hold, lease and holder", () => {
    const held = block(createKey(newKey("a"), T0, timings.keyTtlMs), T0, holder(9), 600_000);
    const renewed = renew(held, T0 + 500_000);
    expect(renewed.block).toEqual({
      blockedAt: T0 + 500_000,
      releaseAt: T0 + 1_100_000,
      lease: 9,
      holder: holder(9).digest,
    });
    // and again: the hold is carried by the block itself, so it survives any number of renewals
    expect(renew(renewed, T0 + 1_000_000).block.releaseAt).toBe(T0 + 1_600_000);
  });

  it("keeps the pool's block time for a block that asked for none", () => {
    const held = block(createKey(newKey("a"), T0, timings.keyTtlMs), T0, holder(2), timings.blockTtlMs);
    expect(renew(held, T0 + 30_000).block).toMatchObject({ blockedAt: T0 + 30_000, releaseAt: T0 + 90_000, lease: 2 });
  });

  it("changes nothing about the key's life", () => {
    const held = block(createKey(newKey("a"), T0, timings.keyTtlMs), T0, holder(2), timings.blockTtlMs);
    const renewed = renew(held, T0 + 30_000);
    expect({ ...renewed, block: null }).toEqual({ ...held, block: null });
  });
});
