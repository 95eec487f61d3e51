import { describe, expect, it } from "vitest";
import { decide, IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_TTL_MS } from "../../src/pool/idempotency";

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0, 0);
const hash = (...bytes: number[]) => new Uint8Array(bytes);
const entry = { requestHash: hash(1, 2, 3), expiresAt: T0 + IDEMPOTENCY_TTL_MS, outcome: '{"ok":true,"value":1}' };

describe("idempotency decisions", () => {
  it("does the work when the key has no entry", () => {
    expect(decide(null, hash(1, 2, 3), T0)).toEqual({ kind: "fresh" });
  });

  it("replays the recorded outcome for the same request until the entry expires", () => {
    expect(decide(entry, hash(1, 2, 3), T0)).toEqual({ kind: "replay", outcome: entry.outcome });
    expect(decide(entry, hash(1, 2, 3), entry.expiresAt - 1)).toEqual({ kind: "replay", outcome: entry.outcome });
  });

  it("refuses the same key for a different request", () => {
    expect(decide(entry, hash(1, 2, 4), T0)).toEqual({ kind: "mismatch" });
    expect(decide(entry, hash(1, 2), T0)).toEqual({ kind: "mismatch" });
  });

  it("treats an expired entry as absent, whatever request it was for", () => {
    expect(decide(entry, hash(1, 2, 3), entry.expiresAt)).toEqual({ kind: "fresh" });
    expect(decide(entry, hash(9), entry.expiresAt)).toEqual({ kind: "fresh" });
  });

  it("keeps entries for 24 hours", () => {
    expect(IDEMPOTENCY_TTL_MS).toBe(86_400_000);
  });
});

describe("idempotency key syntax", () => {
  it("accepts 1-255 visible ASCII characters", () => {
    for (const good of ["a", crypto.randomUUID(), "x".repeat(255), "key:with/slashes+and=padding~!"]) {
      expect(IDEMPOTENCY_KEY_PATTERN.test(good), good).toBe(true);
    }
  });

  it("rejects empty, too long, spaces, control and non-ASCII characters", () => {
    for (const bad of ["", "x".repeat(256), "a b", "tab\there", "new\nline", "clé", "\u0000"]) {
      expect(IDEMPOTENCY_KEY_PATTERN.test(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});
