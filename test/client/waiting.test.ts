import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { KeyPoolClient } from "../../packages/client/src/index.js";
import { poolWithKeys } from "../support/client";

/** Resolves once `count` callers wait for a key in the admin's pool. */
async function waitingCallers(admin: KeyPoolClient, count: number): Promise<void> {
  await vi.waitFor(async () => expect((await admin.poolStats()).waiting).toBe(count), { timeout: 10_000 });
}

/** A fetch to the real Worker that records the query of each `GET /keys`. */
function recordingQueries() {
  const queries: string[] = [];
  const fetch = (request: Request) => {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname.endsWith("/keys")) queries.push(url.search);
    return exports.default.fetch(request);
  };
  return { fetch, queries };
}

describe("when no key is free", () => {
  it("acquire fails with 404 and says when a key may be free (retryAfterSeconds, Retry-After)", async () => {
    const { client } = await poolWithKeys(1);
    const held = await client.acquire({ holdSeconds: 42 });
    await expect(client.acquire()).rejects.toMatchObject({ status: 404, retryAfterSeconds: 42, retryAfterMs: 42_000 });
    await held.report("rate_limited", { retryAfterSeconds: 7.2 });
    await expect(client.acquire()).rejects.toMatchObject({ status: 404, retryAfterSeconds: 8 }); // rounded up
  });

  it("acquire fails with no retryAfterSeconds when no key is on its way to be free", async () => {
    const { client, admin } = await poolWithKeys(1);
    await admin.disableKey((await admin.listKeys()).keys[0]?.keyId as string);
    const error = await client.acquire().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, attempts: 1, retryAfterSeconds: undefined, retryAfterMs: undefined });
  });

  it("acquire with waitSeconds gets the key released meanwhile", async () => {
    const { fetch, queries } = recordingQueries();
    const { client, admin } = await poolWithKeys(1, { fetch });
    const held = await client.acquire({ holdSeconds: 60 });
    const waiting = client.acquire({ waitSeconds: 10 });
    await waitingCallers(admin, 1);
    expect(await held.release()).toBe(true);
    const lease = await waiting;
    expect(lease.keyId).toBe(held.keyId);
    expect(lease.state).toBe("held");
    expect(queries.at(-1)).toBe("?waitSeconds=10");
    expect(await lease.release()).toBe(true);
  });

  it("withKey with waitSeconds waits for a key, here one an admin enables", async () => {
    const { client, admin } = await poolWithKeys(1);
    const [key] = (await admin.listKeys()).keys;
    await admin.disableKey(key?.keyId as string);
    const used: string[] = [];
    const answered = client.withKey(
      async (_key, lease) => {
        used.push(lease.keyId);
        return new Response("done");
      },
      { waitSeconds: 10 },
    );
    await waitingCallers(admin, 1);
    expect(used).toEqual([]);
    await admin.enableKey(key?.keyId as string);
    expect(await (await answered).text()).toBe("done");
    expect(used).toEqual([key?.keyId]);
    expect(await admin.info(key?.keyId as string)).toMatchObject({ state: "free", lastOutcome: "ok" });
  });
});
