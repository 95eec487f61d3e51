import { describe, expect, it } from "vitest";
import { ConfigError, parseMaxHoldMs, parseTimings } from "../../src/pool/config";

describe("configuration", () => {
  it("defaults to a 300 s key TTL and a 60 s block TTL", () => {
    expect(parseTimings({})).toEqual({ keyTtlMs: 300_000, blockTtlMs: 60_000 });
  });

  it("accepts fractions of a second", () => {
    expect(parseTimings({ KEY_TTL_SECONDS: "2", BLOCK_TTL_SECONDS: "0.25" })).toEqual({
      keyTtlMs: 2_000,
      blockTtlMs: 250,
    });
  });

  it.each(["0", "-1", "abc", "NaN", "Infinity", "1e12", "0.0001"])("rejects %j and names the variable", (bad) => {
    expect(() => parseTimings({ KEY_TTL_SECONDS: bad })).toThrow(ConfigError);
    expect(() => parseTimings({ KEY_TTL_SECONDS: bad })).toThrow(/KEY_TTL_SECONDS/);
    expect(() => parseTimings({ BLOCK_TTL_SECONDS: bad })).toThrow(/BLOCK_TTL_SECONDS/);
  });
});

describe("the longest hold", () => {
  it("defaults to 3600 s and reads MAX_HOLD_SECONDS", () => {
    expect(parseMaxHoldMs({})).toBe(3_600_000);
    expect(parseMaxHoldMs({ MAX_HOLD_SECONDS: "7200" })).toBe(7_200_000);
  });

  it.each(["0", "-1", "abc", "1e12"])("rejects %j and names the variable", (bad) => {
    expect(() => parseMaxHoldMs({ MAX_HOLD_SECONDS: bad })).toThrow(/MAX_HOLD_SECONDS/);
  });
});
