import { runDurableObjectAlarm } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { KeyPoolError, LeaseLostEvent } from "../../packages/client/src/index.js";
import { poolWithKeys as setup } from "../support/client";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

describe("a lease", () => {
  it("holds its key over many hold periods and past the key TTL, while the alarm runs", async () => {
    const { timers, client, admin, stub } = await setup(1);
    const lease = await client.acquire({ holdSeconds: 15 });
    const renewals: string[] = [];
    lease.addEventListener("renew", () => {
      renewals.push(lease.releaseAt);
    });
    // 22 hold periods (330 s) is also longer than the 300 s key TTL.
    for (let step = 0; step < 66; step++) {
      await timers.advance(5_000);
      await runDurableObjectAlarm(stub);
      const info = await admin.info(lease.keyId);
      expect(info.isBlocked, `still held after ${(step + 1) * 5} s`).toBe(true);
      await expect(admin.assign()).rejects.toMatchObject({ status: 404 });
    }
    expect(lease.state).toBe("held");
    expect(renewals.length).toBeGreaterThanOrEqual(30);
    // It renewed the block with its own 15 s hold and the same lease each time.
    const info = await admin.info(lease.keyId);
    expect(Date.parse(info.releaseAt as string) - Date.parse(info.blockedAt as string)).toBe(15_000);
    expect(await lease.release()).toBe(true);
    expect(timers.pending).toBe(0);
    expect((await admin.info(lease.keyId)).isBlocked).toBe(false);
  });

  it("with the pool's block time, renews before 60 s and keeps the key alive before 300 s", async () => {
    const { clock, timers, client, admin, stub } = await setup(1);
    const t0 = clock.nowMs;
    const lease = await client.acquire();
    await timers.advance(KEY_TTL_MS * 2);
    await runDurableObjectAlarm(stub);
    const info = await admin.info(lease.keyId);
    expect(info.isBlocked).toBe(true);
    expect(Date.parse(info.releaseAt as string)).toBeGreaterThan(t0 + KEY_TTL_MS * 2);
    expect(Date.parse(info.releaseAt as string) - Date.parse(info.blockedAt as string)).toBe(BLOCK_TTL_MS);
    expect(Date.parse(info.expiresAt as string)).toBeGreaterThan(t0 + KEY_TTL_MS * 2);
    await lease.release();
  });

  it("in a pool whose keys do not expire, holds its key, keeping it alive with each renewal, until they expire again", async () => {
    const { clock, timers, client, admin, stub } = await setup(1);
    await admin.updateSettings({ keysExpire: false });
    const lease = await client.acquire({ holdSeconds: 15 });
    expect(lease.expiresAt).toBeNull();
    await timers.advance(KEY_TTL_MS * 2);
    await runDurableObjectAlarm(stub);
    const info = await admin.info(lease.keyId);
    expect(info).toMatchObject({ isBlocked: true, expiresAt: null });
    // Kept alive within the last hold: the activity is recorded.
    expect(Date.parse(info.lastActivity)).toBeGreaterThan(clock.nowMs - 15_000);
    // Switched on, keys expire a key TTL later; the lease learns it at its next renewal and keeps its key.
    await admin.updateSettings({ keysExpire: true });
    await timers.advance(15_000);
    expect(lease.expiresAt).toEqual(expect.any(String));
    await timers.advance(KEY_TTL_MS * 2);
    await runDurableObjectAlarm(stub);
    expect(await admin.info(lease.keyId)).toMatchObject({ isBlocked: true, expiresAt: expect.any(String) });
    expect(lease.state).toBe("held");
    expect(await lease.release()).toBe(true);
  });

  it("reports a lost lease when the key is deleted, and stops renewing", async () => {
    const { timers, client, admin } = await setup(1);
    const lost: KeyPoolError[] = [];
    const lease = await client.acquire({
      holdSeconds: 30,
      onLost: (error) => {
        lost.push(error);
      },
    });
    const events: LeaseLostEvent[] = [];
    lease.addEventListener("lost", (event) => {
      events.push(event as LeaseLostEvent);
    });
    await admin.deleteKey(lease.keyId);
    await timers.advance(30_000);
    expect(lease.state).toBe("lost");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ status: 404 });
    expect(events).toHaveLength(1);
    expect(events[0]?.error).toBe(lost[0]);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toBe(lost[0]);
    expect(timers.pending).toBe(0);
    expect(await lease.release()).toBe(false);
  });

  it("reports a lost lease when someone else takes the key over (409)", async () => {
    const { timers, client, admin } = await setup(1);
    const lease = await client.acquire({ holdSeconds: 30 });
    await admin.unblock(lease.keyId);
    const thief = await admin.assign();
    expect(thief.keyId).toBe(lease.keyId);
    const lost = new Promise<KeyPoolError>((resolve) =>
      lease.addEventListener("lost", (event) => resolve((event as LeaseLostEvent).error)),
    );
    await timers.advance(30_000);
    expect(await lost).toMatchObject({ status: 409 });
    // The thief's block is untouched by the stale holder.
    expect((await admin.info(thief.keyId)).isBlocked).toBe(true);
    expect(await lease.release()).toBe(false);
    expect((await admin.info(thief.keyId)).isBlocked).toBe(true);
  });

  it("survives a renewal that fails for a while, then declares the lease lost once its deadline passes", async () => {
    let failing = false;
    const fetch = async (request: Request) =>
      failing ? new Response('{"error":"down"}', { status: 503 }) : exports.default.fetch(request);
    const { timers, client } = await setup(1, { fetch, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } });
    const lease = await client.acquire({ holdSeconds: 30 });
    failing = true;
    await timers.advance(22_000); // the renewal at 20 s fails
    expect(lease.state).toBe("held");
    failing = false;
    await timers.advance(5_000); // a retry before the 30 s deadline succeeds
    expect(lease.state).toBe("held");
    failing = true;
    await timers.advance(60_000);
    expect(lease.state).toBe("lost");
    expect(lease.error).toMatchObject({ status: 0, message: expect.stringContaining("deadline") });
    expect(timers.pending).toBe(0);
  });

  it("is released by `await using` when the scope throws", async () => {
    const { client, admin } = await setup(1);
    let keyId = "";
    const work = async () => {
      await using lease = await client.acquire();
      keyId = lease.keyId;
      expect((await admin.info(keyId)).isBlocked).toBe(true);
      throw new Error("the caller's work failed");
    };
    await expect(work()).rejects.toThrow("the caller's work failed");
    expect((await admin.info(keyId)).isBlocked).toBe(false);
    // Free again: the next caller gets it.
    expect((await admin.assign()).keyId).toBe(keyId);
  });

  it("is released by `await using` at the end of a normal scope, and aborts its signal", async () => {
    const { client, admin, timers } = await setup(1);
    let signal: AbortSignal | undefined;
    {
      await using lease = await client.acquire();
      signal = lease.signal;
      expect(signal.aborted).toBe(false);
    }
    expect(signal.aborted).toBe(true);
    expect(timers.pending).toBe(0);
    await expect(admin.assign()).resolves.toMatchObject({ keyId: expect.any(String) });
  });

  it("release is safe to call twice and sends one request", async () => {
    const requests: string[] = [];
    const fetch = (request: Request) => {
      requests.push(`${request.method} ${new URL(request.url).pathname}`);
      return exports.default.fetch(request);
    };
    const { client } = await setup(1, { fetch });
    const lease = await client.acquire({ keepAlive: false });
    const [first, second] = await Promise.all([lease.release(), lease.release()]);
    expect([first, second]).toEqual([true, true]);
    expect(requests.filter((r) => r.startsWith("PUT"))).toHaveLength(1);
  });

  it("without keepAlive, renews only when asked", async () => {
    const { timers, client, admin, clock } = await setup(1);
    const lease = await client.acquire({ holdSeconds: 20, keepAlive: false });
    expect(timers.pending).toBe(0);
    await timers.advance(15_000);
    await lease.renew();
    expect(Date.parse(lease.releaseAt)).toBe(clock.nowMs + 20_000);
    await timers.advance(25_000);
    expect((await admin.info(lease.keyId)).isBlocked).toBe(false);
    await expect(lease.renew()).rejects.toMatchObject({ status: 409 });
    expect(lease.state).toBe("lost");
  });

  it("calls onLost from a listener that returns nothing, whatever onLost returns", async () => {
    // workerd warns about every event listener that returns a value; onLost's type allows one.
    const listen = vi.spyOn(EventTarget.prototype, "addEventListener");
    const { client } = await setup(1);
    const seen: KeyPoolError[] = [];
    const onLost = (error: KeyPoolError) => seen.push(error); // returns a number
    await client.acquire({ keepAlive: false, onLost });
    const listener = listen.mock.calls.find(([type]) => type === "lost")?.[1] as (event: Event) => unknown;
    listen.mockRestore();
    const error = new KeyPoolError(404, "Key not found");
    expect(listener(new LeaseLostEvent(error))).toBeUndefined();
    expect(seen).toEqual([error]);
  });

  it("fails to acquire when no key is free", async () => {
    const { client } = await setup(0);
    await expect(client.acquire()).rejects.toMatchObject({ status: 404 });
  });
});
