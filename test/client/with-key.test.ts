import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_WITH_KEY_ATTEMPTS } from "../../packages/client/src/client.js";
import type { Lease } from "../../packages/client/src/index.js";
import { poolWithKeys } from "../support/client";
import { iso } from "../support/timings";

/** An upstream's answer, as `fetch` would give it. */
const answer = (status: number, body: string | null = null, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers });

/** An upstream that answers from a script, one answer per call, and records which key each call had. */
function upstream(...answers: Array<() => Response>) {
  const calls: Array<{ keyId: string; lease: Lease }> = [];
  const fn = async (_key: string, lease: Lease) => {
    calls.push({ keyId: lease.keyId, lease });
    const next = answers[Math.min(calls.length, answers.length) - 1];
    if (next === undefined) throw new Error("no scripted answer");
    return next();
  };
  return { fn, calls };
}

/** A body that records whether it was cancelled, and whether anyone read it. */
function watchedBody(text: string) {
  const seen = { cancelled: false, pulled: false };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        seen.pulled = true;
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark: 0 }, // pulled only when someone reads
  );
  return { body, seen };
}

describe("withKey", () => {
  it("after a 429 with Retry-After: 2, calls again with another key; the first cools for exactly 2 s", async () => {
    const { clock, timers, client, admin } = await poolWithKeys(2);
    const { fn, calls } = upstream(
      () => answer(429, "slow down", { "retry-after": "2" }),
      () => answer(200, "done"),
    );
    const response = await client.withKey(fn);
    expect(calls).toHaveLength(2);
    const [first, second] = calls.map((call) => call.keyId) as [string, string];
    expect(second).not.toBe(first);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("done");
    expect(await admin.info(first)).toMatchObject({
      state: "cooling",
      isBlocked: false,
      coolingUntil: iso(clock.nowMs + 2_000),
      lastOutcome: "rate_limited",
    });
    // The second key is reported ok and released in the same call; no lease is left running.
    expect(await admin.info(second)).toMatchObject({ state: "free", lastOutcome: "ok", failures: 0 });
    expect(calls.map((call) => call.lease.state)).toEqual(["released", "released"]);
    expect(timers.pending).toBe(0);
    await timers.advance(1_999);
    expect((await admin.info(first)).state).toBe("cooling");
    await timers.advance(1);
    expect((await admin.info(first)).state).toBe("free");
  });

  it.each([401, 403])("after a %i, disables the key and calls again with another", async (status) => {
    const { client, admin } = await poolWithKeys(2);
    const { fn, calls } = upstream(
      () => answer(status, "revoked"),
      () => answer(200, "done"),
    );
    expect((await client.withKey(fn)).status).toBe(200);
    const [first, second] = calls.map((call) => call.keyId) as [string, string];
    expect(second).not.toBe(first);
    expect(await admin.info(first)).toMatchObject({ state: "disabled", lastOutcome: "unauthorized" });
    expect((await admin.poolStats()).keys).toMatchObject({ free: 1, disabled: 1 });
    // A disabled key is never handed out again: the only one left is the second.
    expect((await admin.assign()).keyId).toBe(second);
    await expect(admin.assign()).rejects.toMatchObject({ status: 404 });
  });

  it("hands the caller a 2xx answer with its body unread, and releases the key", async () => {
    const { client, admin, timers } = await poolWithKeys(1);
    const { body, seen } = watchedBody("the upstream's answer");
    let lease: Lease | undefined;
    const response = await client.withKey(async (_key, held) => {
      lease = held;
      return new Response(body, { status: 200, headers: { "x-ratelimit-reset-tokens": "6m0s" } });
    });
    expect(response.bodyUsed).toBe(false);
    expect(seen).toEqual({ cancelled: false, pulled: false });
    expect(await response.text()).toBe("the upstream's answer");
    expect(lease?.state).toBe("released");
    expect(timers.pending).toBe(0);
    // Reported ok (its reset hint is no wait) and released: free at once.
    expect(await admin.info(lease?.keyId as string)).toMatchObject({ state: "free", lastOutcome: "ok" });
  });

  it("gives back a 5xx at once, counting an error against the key and releasing it", async () => {
    const { clock, client, admin } = await poolWithKeys(1);
    await admin.updateSettings({ maxFailures: 2 });
    const { fn, calls } = upstream(() => answer(503, "down", { "retry-after": "30" }));
    const first = await client.withKey(fn);
    expect(first.status).toBe(503);
    expect(await first.text()).toBe("down");
    expect(calls).toHaveLength(1);
    const keyId = calls[0]?.keyId as string;
    expect(await admin.info(keyId)).toMatchObject({ state: "free", failures: 1, lastOutcome: "error" });
    // The second error in a row cools the key, for the upstream's own wait.
    const again = await client.withKey(fn);
    expect(calls.map((call) => call.keyId)).toEqual([keyId, keyId]);
    expect(again.status).toBe(503);
    expect(await admin.info(keyId)).toMatchObject({ state: "cooling", coolingUntil: iso(clock.nowMs + 30_000) });
  });

  it("tries `attempts` keys at most, and gives the caller the last answer", async () => {
    const { client, admin } = await poolWithKeys(5);
    let n = 0;
    const limited = upstream(() => answer(429, `limited ${++n}`, { "retry-after": "60" }));
    const response = await client.withKey(limited.fn, { attempts: 2 });
    expect(limited.calls).toHaveLength(2);
    expect(response.status).toBe(429);
    expect(await response.text()).toBe("limited 2");
    expect((await admin.poolStats()).keys).toMatchObject({ free: 3, cooling: 2 });

    expect(DEFAULT_WITH_KEY_ATTEMPTS).toBe(3);
    const byDefault = upstream(() => answer(429));
    await client.withKey(byDefault.fn);
    expect(byDefault.calls).toHaveLength(3);
    expect(new Set(byDefault.calls.map((call) => call.keyId)).size).toBe(3);
    await expect(client.withKey(byDefault.fn, { attempts: 0 })).rejects.toThrow(RangeError);
  });

  it("cancels the body of an answer it discards, and only that one", async () => {
    const { client } = await poolWithKeys(2);
    const discarded = watchedBody("slow down");
    const kept = watchedBody("done");
    const { fn } = upstream(
      () => new Response(discarded.body, { status: 429 }),
      () => new Response(kept.body, { status: 200 }),
    );
    const response = await client.withKey(fn);
    expect(discarded.seen).toEqual({ cancelled: true, pulled: false });
    expect(kept.seen).toEqual({ cancelled: false, pulled: false });
    expect(await response.text()).toBe("done");
  });

  it("when no other key is free, gives the caller the upstream's 429 as it came", async () => {
    const { client, admin } = await poolWithKeys(1);
    const { fn, calls } = upstream(() => answer(429, "slow down", { "retry-after": "2" }));
    const response = await client.withKey(fn);
    expect(calls).toHaveLength(1);
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(await response.text()).toBe("slow down");
    expect((await admin.info(calls[0]?.keyId as string)).state).toBe("cooling");
  });

  it("fails like acquire when no key is free at all, without calling fn", async () => {
    const { client } = await poolWithKeys(1);
    const held = await client.acquire({ holdSeconds: 30 });
    const { fn, calls } = upstream(() => answer(200));
    await expect(client.withKey(fn)).rejects.toMatchObject({ status: 404, retryAfterSeconds: 30 });
    expect(calls).toHaveLength(0);
    await held.release();
  });

  it("when fn throws, releases the key with nothing reported and throws the same error", async () => {
    const { client, admin, timers } = await poolWithKeys(2);
    const failure = new Error("the caller's own failure");
    const leases: Lease[] = [];
    const thrown = await client
      .withKey(async (_key, lease) => {
        leases.push(lease);
        throw failure;
      })
      .catch((error: unknown) => error);
    expect(thrown).toBe(failure);
    expect(leases).toHaveLength(1); // no other key is tried
    expect(leases[0]?.state).toBe("released");
    expect(timers.pending).toBe(0);
    expect(await admin.info(leases[0]?.keyId as string)).toMatchObject({
      state: "free",
      lastOutcome: null,
      failures: 0,
    });
  });

  it("leaves a key fn reported or released itself as fn left it", async () => {
    const { client, admin } = await poolWithKeys(1);
    let keyId = "";
    const response = await client.withKey(async (_key, lease) => {
      keyId = lease.keyId;
      // fn knows better than the status: this 200 carried a quota error in its body.
      await lease.report("rate_limited", { retryAfterSeconds: 10 });
      return answer(200, "quota exceeded");
    });
    expect(response.status).toBe(200);
    expect(await admin.info(keyId)).toMatchObject({ state: "cooling", lastOutcome: "rate_limited" });
  });

  it("gives the upstream's answer even when its report fails, and tells onReportError", async () => {
    const fetch = (request: Request) =>
      request.url.endsWith("/report")
        ? Promise.resolve(Response.json({ error: "Internal error" }, { status: 500 }))
        : exports.default.fetch(request);
    const { client, admin } = await poolWithKeys(1, { fetch, retry: { attempts: 1 } });
    const errors: unknown[] = [];
    const response = await client.withKey(async () => answer(200, "done"), {
      onReportError: (error) => {
        errors.push(error);
      },
    });
    expect(await response.text()).toBe("done");
    expect(errors).toEqual([expect.objectContaining({ status: 500 })]);
    // Released all the same.
    expect((await admin.poolStats()).keys).toMatchObject({ free: 1, blocked: 0 });
  });
});
