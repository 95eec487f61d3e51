import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyPoolError, type LeaseLostEvent } from "../../packages/client/src/index.js";
import { platformTimers } from "../../packages/client/src/timers.js";
import { poolWithKeys } from "../support/client";
import { iso } from "../support/timings";

/** A fetch to the real Worker that records each request's method and path. */
function recording() {
  const requests: string[] = [];
  const fetch = (request: Request) => {
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    return exports.default.fetch(request);
  };
  return { fetch, requests };
}

describe("lease.report", () => {
  it("rate_limited cools the key for the wait given and ends the lease: no renewal, no release request", async () => {
    const { fetch, requests } = recording();
    const { clock, timers, client, admin } = await poolWithKeys(2, { fetch });
    const lease = await client.acquire({ holdSeconds: 30 });
    const info = await lease.report("rate_limited", { retryAfterSeconds: 2 });
    expect(info).toMatchObject({ state: "cooling", isBlocked: false, coolingUntil: iso(clock.nowMs + 2_000) });
    expect(lease.state).toBe("released");
    expect(lease.signal.aborted).toBe(true);
    expect(timers.pending).toBe(0);
    const sent = requests.length;
    expect(await lease.release()).toBe(true);
    expect(requests).toHaveLength(sent);
    // Cooling to the millisecond: not handed out before, free after.
    await timers.advance(1_999);
    expect((await admin.info(lease.keyId)).state).toBe("cooling");
    await timers.advance(1);
    expect(await admin.info(lease.keyId)).toMatchObject({ state: "free", coolingUntil: null });
  });

  it("unauthorized disables the key and ends the lease", async () => {
    const { timers, client, admin } = await poolWithKeys(1);
    const lease = await client.acquire();
    expect(await lease.report("unauthorized")).toMatchObject({ state: "disabled", lastOutcome: "unauthorized" });
    expect(lease.state).toBe("released");
    expect(timers.pending).toBe(0);
    await expect(admin.assign()).rejects.toMatchObject({ status: 404 });
    expect(await admin.enableKey(lease.keyId)).toMatchObject({ state: "free" });
  });

  it("ok keeps the lease and its renewals, and clears the failures; with release it frees the key", async () => {
    const { timers, client, admin } = await poolWithKeys(1);
    const lease = await client.acquire({ holdSeconds: 15 });
    expect(await lease.report("error")).toMatchObject({ state: "blocked", failures: 1, lastOutcome: "error" });
    expect(await lease.report("ok")).toMatchObject({ state: "blocked", failures: 0, lastOutcome: "ok" });
    expect(lease.state).toBe("held");
    await timers.advance(60_000); // four hold periods: renewed all along
    expect(lease.state).toBe("held");
    expect((await admin.info(lease.keyId)).isBlocked).toBe(true);
    expect(await lease.report("ok", { release: true })).toMatchObject({ state: "free", isBlocked: false });
    expect(lease.state).toBe("released");
    expect(timers.pending).toBe(0);
    expect((await admin.assign()).keyId).toBe(lease.keyId);
  });

  it("the error that reaches maxFailures cools the key for the pool's cooldown and ends the lease", async () => {
    const { clock, timers, client, admin } = await poolWithKeys(1);
    await admin.updateSettings({ maxFailures: 2, cooldownSeconds: 45 });
    const lease = await client.acquire();
    await lease.report("error");
    expect(lease.state).toBe("held");
    expect(await lease.report("error")).toMatchObject({ state: "cooling", coolingUntil: iso(clock.nowMs + 45_000) });
    expect(lease.state).toBe("released");
    expect(timers.pending).toBe(0);
  });

  it("reads an upstream's Response: its status and its longest retry hint, leaving its body unread", async () => {
    const { clock, client, admin } = await poolWithKeys(3);
    const dated = await client.acquire();
    const at = new Date(Math.ceil(clock.nowMs / 1000) * 1000 + 7_000); // an HTTP date has whole seconds
    const first = new Response("slow down", { status: 429, headers: { "Retry-After": at.toUTCString() } });
    expect(await dated.report(first)).toMatchObject({ state: "cooling", coolingUntil: at.toISOString() });
    expect(first.bodyUsed).toBe(false);
    expect(await first.text()).toBe("slow down");

    const openai = await client.acquire();
    const headers = { "retry-after": "20", "x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s" };
    await openai.report(new Response(null, { status: 429, headers }));
    expect((await admin.info(openai.keyId)).coolingUntil).toBe(iso(clock.nowMs + 360_000));

    const revoked = await client.acquire();
    await revoked.report(new Response("bad key", { status: 403 }));
    expect(await admin.info(revoked.keyId)).toMatchObject({ state: "disabled" });
  });

  it("an explicit retryAfterSeconds wins over the Response's hints", async () => {
    const { clock, client } = await poolWithKeys(1);
    const lease = await client.acquire();
    const response = new Response(null, { status: 429, headers: { "retry-after": "600" } });
    expect(await lease.report(response, { retryAfterSeconds: 3 })).toMatchObject({
      coolingUntil: iso(clock.nowMs + 3_000),
    });
  });

  it("a report the pool refuses (400) leaves the lease held", async () => {
    const { client } = await poolWithKeys(1);
    const lease = await client.acquire();
    await expect(lease.report("rate_limited", { retryAfterSeconds: 86_401 })).rejects.toMatchObject({ status: 400 });
    expect(lease.state).toBe("held");
    expect(await lease.release()).toBe(true);
  });

  it("a report sent again after a lost answer ends the lease as its own, not as lost", async () => {
    let lose = true;
    const fetch = async (request: Request) => {
      const response = await exports.default.fetch(request);
      if (lose && request.method === "POST" && request.url.endsWith("/report")) {
        lose = false;
        await response.body?.cancel();
        throw new TypeError("Network connection lost");
      }
      return response;
    };
    // The platform's timers: the client waits out its backoff before sending the report again.
    const { clock, client } = await poolWithKeys(1, { fetch, timers: platformTimers });
    const lease = await client.acquire();
    const lost: Event[] = [];
    lease.addEventListener("lost", (event) => {
      lost.push(event);
    });
    // The first report cooled the key; the second finds the block gone (409).
    expect(await lease.report("rate_limited", { retryAfterSeconds: 5 })).toMatchObject({
      state: "cooling",
      coolingUntil: iso(clock.nowMs + 5_000),
    });
    expect(lease.state).toBe("released");
    expect(lost).toEqual([]);
  });

  it("a report on a lease already lost fails with 409", async () => {
    const { client, admin } = await poolWithKeys(1);
    const lease = await client.acquire({ keepAlive: false });
    await admin.unblock(lease.keyId);
    await expect(lease.report("ok")).rejects.toMatchObject({ status: 409 });
    expect(lease.state).toBe("lost");
  });
});

describe("a lease whose key someone else cools down or disables", () => {
  /** A held lease whose `"lost"` events are collected. */
  async function heldLease(keys = 1) {
    const setup = await poolWithKeys(keys);
    const lease = await setup.client.acquire({ holdSeconds: 30 });
    const lost: KeyPoolError[] = [];
    lease.addEventListener("lost", (event) => {
      lost.push((event as LeaseLostEvent).error);
    });
    return { ...setup, lease, lost };
  }

  it("is lost at its next renewal when an admin reports the key rate limited (409)", async () => {
    const { clock, timers, admin, lease, lost } = await heldLease();
    const cooledAt = clock.nowMs;
    expect(await admin.reportKey(lease.keyId, { outcome: "rate_limited", retryAfterSeconds: 120 })).toMatchObject({
      state: "cooling",
    });
    expect(lease.state).toBe("held"); // nothing tells the holder before it next calls
    await timers.advance(20_000); // its renewal, a third of the hold before the end
    expect(lease.state).toBe("lost");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(KeyPoolError);
    expect(lost[0]).toMatchObject({ status: 409 });
    expect(lease.signal.reason).toBe(lost[0]);
    expect(timers.pending).toBe(0);
    // The stale holder frees nothing: the key stays cooling until its end.
    expect(await lease.release()).toBe(false);
    expect(await admin.info(lease.keyId)).toMatchObject({ state: "cooling", coolingUntil: iso(cooledAt + 120_000) });
  });

  it("is lost at its next renewal when an admin disables the key (409), and its release enables nothing", async () => {
    const { timers, admin, lease, lost } = await heldLease();
    expect(await admin.disableKey(lease.keyId)).toMatchObject({ state: "disabled", isBlocked: false });
    await timers.advance(20_000);
    expect(lease.state).toBe("lost");
    expect(lost).toEqual([expect.objectContaining({ status: 409 })]);
    expect(await lease.release()).toBe(false);
    expect(await admin.info(lease.keyId)).toMatchObject({ state: "disabled" });
    await expect(admin.assign()).rejects.toMatchObject({ status: 404 });
  });

  it("is lost when the key is disabled and enabled again meanwhile, and someone else holds it", async () => {
    const { timers, admin, lease, lost } = await heldLease();
    await admin.disableKey(lease.keyId);
    await admin.enableKey(lease.keyId);
    const other = await admin.assign();
    expect(other.keyId).toBe(lease.keyId);
    await timers.advance(20_000);
    expect(lost).toEqual([expect.objectContaining({ status: 409 })]);
    expect(await lease.release()).toBe(false);
    expect((await admin.info(other.keyId)).isBlocked).toBe(true);
  });
});
