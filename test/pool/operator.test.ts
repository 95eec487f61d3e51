import { describe, expect, it } from "vitest";
import { listed, positionAfter } from "../../src/pool/listing";
import { applyPatch, effectiveSettings, NO_OVERRIDES, toSettings } from "../../src/pool/settings";
import { INFO_FIELDS } from "../support/keys";

const DEFAULTS = { keyTtlMs: 300_000, blockTtlMs: 60_000 };

describe("pool settings", () => {
  it("fall back to the defaults for whatever is not overridden", () => {
    expect(effectiveSettings(DEFAULTS, NO_OVERRIDES)).toEqual({ timings: DEFAULTS, revealValues: "anyone" });
    expect(effectiveSettings(DEFAULTS, { keyTtlMs: 5_000, blockTtlMs: null, revealValues: "holder" })).toEqual({
      timings: { keyTtlMs: 5_000, blockTtlMs: 60_000 },
      revealValues: "holder",
    });
  });

  it("patch: a value sets, null resets, absent keeps", () => {
    const set = applyPatch(NO_OVERRIDES, { keyTtlSeconds: 1.5, blockTtlSeconds: 2, revealValues: "holder" });
    expect(set).toEqual({ keyTtlMs: 1_500, blockTtlMs: 2_000, revealValues: "holder" });
    expect(applyPatch(set, { blockTtlSeconds: null, revealValues: null })).toEqual({
      keyTtlMs: 1_500,
      blockTtlMs: null,
      revealValues: null,
    });
    expect(applyPatch(set, {})).toEqual(set);
  });

  it("refuse values the [vars] would refuse", () => {
    for (const bad of [0, -1, 0.0004, Number.NaN, Number.POSITIVE_INFINITY, 365 * 24 * 3600 + 1]) {
      expect(() => applyPatch(NO_OVERRIDES, { keyTtlSeconds: bad })).toThrow(RangeError);
    }
  });

  it("show the timings in seconds", () => {
    const timings = { keyTtlMs: 1_500, blockTtlMs: 60_000 };
    expect(toSettings({ timings, revealValues: "anyone" })).toEqual({
      keyTtlSeconds: 1.5,
      blockTtlSeconds: 60,
      revealValues: "anyone",
    });
  });
});

describe("listing", () => {
  const row = {
    keyId: "00000000-0000-4000-8000-000000000001",
    createdAt: 1_000,
    lastActivity: 1_000,
    expiresAt: 10_000,
    block: { blockedAt: 2_000, releaseAt: 5_000, lease: 7, holder: null },
  };

  it("shows a key as every read does at that moment", () => {
    expect(listed(row, 4_999, "blocked")).toMatchObject({ keyId: row.keyId, isBlocked: true });
    expect(listed(row, 5_000, "all")).toMatchObject({ isBlocked: false, blockedAt: null, releaseAt: null });
    expect(listed(row, 5_000, "blocked")).toBeNull();
    expect(listed(row, 10_000, "all")).toBeNull();
  });

  it("never carries a lease or a value, even from a row that has them", () => {
    const withValue = { ...row, key: "the-secret-value" };
    const shown = listed(withValue, 3_000, "all");
    expect(shown).not.toBeNull();
    expect(Object.keys(shown as object).sort()).toEqual([...INFO_FIELDS, "keyId"].sort());
    expect(JSON.stringify(shown)).not.toContain("the-secret-value");
  });

  it("continues after a row in the order of its state", () => {
    expect(positionAfter(row, "all")).toEqual({ state: "all", id: row.keyId });
    expect(positionAfter(row, "blocked")).toEqual({ state: "blocked", releaseAt: 5_000, id: row.keyId });
    expect(positionAfter({ ...row, block: null }, "free")).toEqual({ state: "free", id: row.keyId });
  });
});
