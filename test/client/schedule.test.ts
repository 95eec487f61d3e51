import { describe, expect, it } from "vitest";
import type { KeyInfo } from "../../packages/client/src/index.js";
import { deadlinesFrom, firstDeadline, renewalTimes } from "../../packages/client/src/schedule.js";
import { HEALTHY } from "../support/records";
import { iso } from "../support/timings";

const T = Date.UTC(2026, 10, 25, 12, 0, 0);
const info = (over: Partial<KeyInfo> = {}): KeyInfo => ({
  isBlocked: true,
  createdAt: iso(T - 1_000_000),
  lastActivity: iso(T),
  expiresAt: iso(T + 300_000),
  blockedAt: iso(T - 20_000),
  releaseAt: iso(T + 40_000),
  source: "generated",
  label: null,
  hint: null,
  ...HEALTHY,
  state: "blocked",
  ...over,
});

describe("lease deadlines", () => {
  it("are measured on the local clock from when the request was sent, whatever the server clock says", () => {
    const sentAt = 5_000; // a local clock far from the server's
    expect(deadlinesFrom(info(), iso(T), sentAt)).toEqual({
      blockEndsAt: 45_000,
      holdMs: 60_000,
      life: { endsAt: 305_000, ttlMs: 300_000 },
    });
  });

  it("renew each deadline a third of its period before it passes", () => {
    const d = { blockEndsAt: 60_000, holdMs: 60_000, life: { endsAt: 300_000, ttlMs: 300_000 } };
    expect(renewalTimes(d)).toEqual({ renewBlockAt: 40_000, keepAliveAt: 200_000 });
    expect(firstDeadline(d)).toBe(60_000);
    expect(firstDeadline({ ...d, life: { endsAt: 50_000, ttlMs: 300_000 } })).toBe(50_000);
  });

  it("learn a renewed block's hold from the renewal's own times", () => {
    const renewed = info({ blockedAt: iso(T), releaseAt: iso(T + 600_000) });
    expect(deadlinesFrom(renewed, iso(T), 0)).toMatchObject({ blockEndsAt: 600_000, holdMs: 600_000 });
  });

  it("are none for a key that is not blocked", () => {
    expect(deadlinesFrom(info({ isBlocked: false, blockedAt: null, releaseAt: null }), iso(T), 0)).toBeNull();
  });

  it("in a pool whose keys do not expire, are the block's alone, and the key is kept alive with each renewal", () => {
    const d = deadlinesFrom(info({ expiresAt: null }), iso(T), 0);
    expect(d).toEqual({ blockEndsAt: 40_000, holdMs: 60_000, life: null });
    if (d === null) return;
    expect(renewalTimes(d)).toEqual({ renewBlockAt: 20_000, keepAliveAt: 20_000 });
    expect(firstDeadline(d)).toBe(40_000);
  });
});
