import { describe, expect, it } from "vitest";
import { listed, positionAfter } from "../../src/pool/listing";
import {
  applyPatch,
  effectiveExpiry,
  effectiveSettings,
  lifetimeOf,
  NO_OVERRIDES,
  toSettings,
} from "../../src/pool/settings";
import { INFO_FIELDS } from "../support/keys";
import { GENERATED, UNREPORTED } from "../support/records";

const DEFAULTS = { keyTtlMs: 300_000, blockTtlMs: 60_000 };
const T = 1_000_000;

describe("pool settings", () => {
  it("fall back to the defaults for whatever is not overridden", () => {
    expect(effectiveSettings(DEFAULTS, NO_OVERRIDES)).toEqual({
      timings: DEFAULTS,
      revealValues: "anyone",
      keysExpire: true,
      expirySwitchedAt: null,
      reports: { cooldownMs: 60_000, maxFailures: 3 },
      lockDelayMs: 0,
      auditRetentionMs: 30 * 86_400_000,
    });
    const overrides = {
      ...NO_OVERRIDES,
      keyTtlMs: 5_000,
      revealValues: "holder" as const,
      keysExpire: false,
      cooldownMs: 1_000,
      maxFailures: 5,
      lockDelayMs: 250,
      auditRetentionDays: 0,
    };
    expect(effectiveSettings(DEFAULTS, overrides)).toEqual({
      timings: { keyTtlMs: 5_000, blockTtlMs: 60_000 },
      revealValues: "holder",
      keysExpire: false,
      expirySwitchedAt: null,
      reports: { cooldownMs: 1_000, maxFailures: 5 },
      lockDelayMs: 250,
      auditRetentionMs: 0,
    });
  });

  it("take a report's cooldown, failures and lock-delay within their bounds, and refuse others", () => {
    const set = applyPatch(NO_OVERRIDES, { cooldownSeconds: 0.5, maxFailures: 1, lockDelaySeconds: 60 }, T);
    expect(set).toMatchObject({ cooldownMs: 500, maxFailures: 1, lockDelayMs: 60_000 });
    expect(applyPatch(set, { cooldownSeconds: null, maxFailures: null, lockDelaySeconds: null }, T)).toEqual(
      NO_OVERRIDES,
    );
    const bad = [
      { cooldownSeconds: -1 },
      { cooldownSeconds: 86_401 },
      { maxFailures: 0 },
      { maxFailures: 1.5 },
      { maxFailures: 101 },
      { lockDelaySeconds: 61 },
      { lockDelaySeconds: Number.NaN },
    ];
    for (const patch of bad)
      expect(() => applyPatch(NO_OVERRIDES, patch, T), JSON.stringify(patch)).toThrow(RangeError);
  });

  it("patch: a value sets, null resets, absent keeps", () => {
    const set = applyPatch(NO_OVERRIDES, { keyTtlSeconds: 1.5, blockTtlSeconds: 2, revealValues: "holder" }, T);
    expect(set).toEqual({ ...NO_OVERRIDES, keyTtlMs: 1_500, blockTtlMs: 2_000, revealValues: "holder" });
    expect(applyPatch(set, { blockTtlSeconds: null, revealValues: null }, T)).toEqual({
      ...NO_OVERRIDES,
      keyTtlMs: 1_500,
    });
    expect(applyPatch(set, {}, T)).toEqual(set);
  });

  it("date a switch of keysExpire, and only a switch", () => {
    const off = applyPatch(NO_OVERRIDES, { keysExpire: false }, T);
    expect(off).toMatchObject({ keysExpire: false, expirySwitchedAt: T });
    expect(applyPatch(off, { keysExpire: false }, T + 5)).toEqual(off);
    expect(applyPatch(off, { keysExpire: null }, T + 7)).toMatchObject({ keysExpire: null, expirySwitchedAt: T + 7 });
    // true is the default: setting it on a pool that never switched switches nothing.
    expect(applyPatch(NO_OVERRIDES, { keysExpire: true }, T)).toMatchObject({ expirySwitchedAt: null });
  });

  it("refuse values the [vars] would refuse", () => {
    for (const bad of [0, -1, 0.0004, Number.NaN, Number.POSITIVE_INFINITY, 365 * 24 * 3600 + 1]) {
      expect(() => applyPatch(NO_OVERRIDES, { keyTtlSeconds: bad }, T)).toThrow(RangeError);
    }
  });

  it("show the timings in seconds", () => {
    const timings = { keyTtlMs: 1_500, blockTtlMs: 60_000 };
    const reports = { cooldownMs: 1_500, maxFailures: 4 };
    const effective = { timings, revealValues: "anyone" as const, keysExpire: false, expirySwitchedAt: T };
    expect(toSettings({ ...effective, reports, lockDelayMs: 2_500, auditRetentionMs: 7 * 86_400_000 })).toEqual({
      keyTtlSeconds: 1.5,
      blockTtlSeconds: 60,
      revealValues: "anyone",
      keysExpire: false,
      cooldownSeconds: 1.5,
      maxFailures: 4,
      auditRetentionDays: 7,
      lockDelaySeconds: 2.5,
    });
  });
});

describe("keys that do not expire", () => {
  const expiring = effectiveSettings(DEFAULTS, NO_OVERRIDES);
  const keeping = applyPatch(NO_OVERRIDES, { keysExpire: false }, T);
  const kept = effectiveSettings(DEFAULTS, keeping);
  const switchedBackOn = effectiveSettings(DEFAULTS, applyPatch(keeping, { keysExpire: true }, T + 60_000));

  it("live for the key TTL from their last activity, or for ever", () => {
    expect(lifetimeOf(expiring)).toBe(300_000);
    expect(lifetimeOf(kept)).toBeNull();
  });

  it("have no expiry while the pool keeps keys, whatever is still stored", () => {
    expect(effectiveExpiry(T + 5, kept)).toBeNull();
    expect(effectiveExpiry(null, kept)).toBeNull();
  });

  it("expire one key TTL after the switch back on, before the alarm writes it", () => {
    expect(effectiveExpiry(null, switchedBackOn)).toBe(T + 60_000 + 300_000);
    expect(effectiveExpiry(T + 5, switchedBackOn)).toBe(T + 5);
  });
});

describe("listing", () => {
  const row = {
    keyId: "00000000-0000-4000-8000-000000000001",
    createdAt: 1_000,
    lastActivity: 1_000,
    expiresAt: 10_000,
    block: { blockedAt: 2_000, releaseAt: 5_000, lease: 7, holder: null },
    ...GENERATED,
    ...UNREPORTED,
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
    expect(positionAfter(row, "blocked")).toEqual({ state: "blocked", at: 5_000, id: row.keyId });
    expect(positionAfter({ ...row, block: null }, "free")).toEqual({ state: "free", id: row.keyId });
  });
});
