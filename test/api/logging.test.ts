import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { useFakeClock } from "../support/clock";
import { call, uniquePool } from "../support/http";
import { DEFAULT_SETTINGS } from "../support/records";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

/**
 * Every object the pool logged while `action` ran. Each is logged as one line of JSON (one argument,
 * a string with no newline), as Workers Logs and a terminal both show it.
 */
async function logged(action: () => Promise<unknown>): Promise<any[]> {
  const spy = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    await action();
    return spy.mock.calls.map((args) => {
      expect(args).toHaveLength(1);
      const [line] = args;
      expect(typeof line === "string" && !line.includes("\n"), String(line)).toBe(true);
      return JSON.parse(line as string);
    });
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("structured logs", () => {
  it("log each state change once, with the pool and the key id, never the key value", async () => {
    const pool = uniquePool();
    let keyId = "";
    let key = "";
    const lines = await logged(async () => {
      keyId = (await call("POST", `/pools/${pool}/keys`)).body.keyId;
      key = (await call("GET", `/pools/${pool}/keys`)).body.key;
      await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { blocked: false } });
      await call("PUT", `/pools/${pool}/keys/${keyId}/alive`);
      await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { blocked: true } });
      await call("DELETE", `/pools/${pool}/keys/${keyId}`);
      await call("PUT", `/pools/${pool}/settings`, { json: { keyTtlSeconds: 30 } });
    });
    expect(lines).toEqual([
      { event: "created", pool, keyId },
      { event: "assigned", pool, keyId },
      { event: "unblocked", pool, keyId },
      { event: "blocked", pool, keyId },
      { event: "deleted", pool, keyId },
      { event: "settings_changed", pool, ...DEFAULT_SETTINGS, keyTtlSeconds: 30 },
    ]);
    expect(JSON.stringify(lines)).not.toContain(key);
  });

  it("log reports with their outcome, and the cooldowns, disables and enables they or an admin cause", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    const keyId = (await call("POST", `/pools/${pool}/keys`)).body.keyId;
    const held = (await call("GET", `/pools/${pool}/keys`)).body;
    const report = (json: unknown) => call("POST", `/pools/${pool}/keys/${keyId}/report`, { json });
    const lines = await logged(async () => {
      await report({ outcome: "error" });
      await report({ outcome: "ok", release: true });
      await report({ outcome: "rate_limited", retryAfterSeconds: 5 });
      await report({ outcome: "rate_limited", retryAfterSeconds: 1 }); // shorter: no cooldown of its own
      await report({ outcome: "unauthorized" });
      await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { disabled: false } });
      await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { disabled: true } });
    });
    expect(lines).toEqual([
      { event: "reported", pool, keyId, outcome: "error" },
      { event: "unblocked", pool, keyId, outcome: "ok" },
      {
        event: "cooled",
        pool,
        keyId,
        outcome: "rate_limited",
        coolingUntil: new Date(clock.nowMs + 5000).toISOString(),
      },
      { event: "reported", pool, keyId, outcome: "rate_limited" },
      { event: "disabled", pool, keyId, outcome: "unauthorized" },
      { event: "enabled", pool, keyId },
      { event: "disabled", pool, keyId },
    ]);
    expect(JSON.stringify(lines)).not.toContain(held.leaseToken);
    expect(JSON.stringify(lines)).not.toContain(held.key);
  });

  it("log a bulk create as one object with the count and the ids", async () => {
    const pool = uniquePool();
    let ids: string[] = [];
    const lines = await logged(async () => {
      ids = (await call("POST", `/pools/${pool}/keys`, { json: { count: 1000 } })).body.keyIds;
    });
    expect(lines).toEqual([{ event: "created", pool, count: 1000, keyIds: ids }]);
  });

  it("log an alarm's expiries as one object per batch, with the pool's name", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    const ids = (await call("POST", `/pools/${pool}/keys`, { json: { count: 3 } })).body.keyIds;
    await call("GET", `/pools/${pool}/keys`);
    clock.advance(KEY_TTL_MS);
    const lines = await logged(() => runDurableObjectAlarm(env.KEY_POOL.getByName(pool)));
    // The held key expired with its block due too: it is logged as expired, not also as released.
    expect(lines).toEqual([{ event: "expired", pool, count: 3, keyIds: expect.arrayContaining(ids) }]);
  });

  it("log an automatic release on its own", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`);
    const held = (await call("GET", `/pools/${pool}/keys`)).body.keyId;
    clock.advance(BLOCK_TTL_MS);
    const lines = await logged(() => runDurableObjectAlarm(env.KEY_POOL.getByName(pool)));
    expect(lines).toEqual([{ event: "released", pool, keyId: held }]);
  });

  it("log nothing for reads and for settings that change nothing", async () => {
    const pool = uniquePool();
    const keyId = (await call("POST", `/pools/${pool}/keys`)).body.keyId;
    const lines = await logged(async () => {
      await call("GET", `/pools/${pool}/keys/${keyId}`);
      await call("GET", `/pools/${pool}/keys/${keyId}/info`);
      await call("GET", `/pools/${pool}`);
      await call("GET", `/pools/${pool}/list`);
      await call("PUT", `/pools/${pool}/settings`, { json: { keyTtlSeconds: 300 } });
    });
    expect(lines).toEqual([]);
  });
});
