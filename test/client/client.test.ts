import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyPoolError } from "../../packages/client/src/index.js";
import { adminClient, testClient } from "../support/client";
import { call, uniquePool } from "../support/http";
import { DEFAULT_SETTINGS } from "../support/records";

/**
 * A fetch to the real Worker that loses the answer of the `nth` request (after the Worker has
 * handled it) and any whose method/path match, as a dropped connection would: the server did the
 * work, the caller sees a network error.
 */
function losingAnswers(lose: (request: Request, index: number) => boolean) {
  let index = 0;
  const seen: Request[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    seen.push(request.clone());
    const response = await exports.default.fetch(request);
    if (lose(request, index++)) {
      await response.body?.cancel();
      throw new TypeError("Network connection lost");
    }
    return response;
  };
  return { fetch, seen };
}

describe("the client against the Worker", () => {
  it("calls every endpoint with typed answers", async () => {
    const pool = uniquePool();
    const client = testClient({ pool });
    const admin = adminClient({ pool });
    const { keyId } = await admin.createKey();
    const { keyIds } = await admin.createKeys(2);
    expect(keyIds).toHaveLength(2);
    expect(await client.getKey(keyId)).toEqual({ keyId, key: expect.any(String) });
    expect(await client.info(keyId)).toMatchObject({ isBlocked: false, blockedAt: null });
    const blocked = await admin.block(keyId);
    expect(blocked).toMatchObject({ isBlocked: true, lease: expect.any(Number), leaseToken: expect.any(String) });
    // The admin hands the block's secret to a client, which then acts as its holder.
    const holder = { lease: blocked.lease, leaseToken: blocked.leaseToken };
    expect(await client.block(keyId, holder)).toMatchObject({ lease: blocked.lease });
    expect(await client.keepAlive(keyId, holder)).toMatchObject({ isBlocked: true });
    expect(await client.getKey(keyId, holder)).toEqual({ keyId, key: expect.any(String) });
    expect(await client.unblock(keyId, holder)).toMatchObject({ isBlocked: false });
    const assigned = await client.assign({ holdSeconds: 30 });
    expect(Date.parse(assigned.releaseAt) - Date.now()).toBeGreaterThan(25_000);
    expect(await client.update(assigned.keyId, { blocked: false }, { leaseToken: assigned.leaseToken })).toMatchObject({
      isBlocked: false,
    });
    expect(await admin.deleteKey(keyId)).toEqual({ keyId, deleted: true });
  });

  it("throws KeyPoolError with the server's status, message and details", async () => {
    const pool = uniquePool();
    const client = testClient({ pool });
    const admin = adminClient({ pool });
    await expect(client.assign()).rejects.toMatchObject({ status: 404, message: "No such pool" });
    await admin.updateSettings({});
    const missing = await client.info(crypto.randomUUID()).catch((e) => e);
    expect(missing).toBeInstanceOf(KeyPoolError);
    expect(missing).toMatchObject({ status: 404, message: "Key not found", attempts: 1 });
    const { keyId } = await admin.createKey();
    await admin.block(keyId);
    await expect(client.getKey(keyId)).rejects.toMatchObject({ status: 403 });
    await expect(client.keepAlive(keyId, { lease: 999_999 })).rejects.toMatchObject({ status: 409 });
    await expect(client.unblock(keyId, { lease: 1 })).rejects.toMatchObject({ status: 409 });
    await expect(client.assign()).rejects.toMatchObject({ status: 404, message: "No free key available" });
    const invalid = await admin.createKeys(0).catch((e) => e);
    expect(invalid).toMatchObject({ status: 400, details: [expect.objectContaining({ path: "body.count" })] });
    await expect(client.assign({ holdSeconds: 3601 })).rejects.toMatchObject({ status: 400 });
  });

  it("sends the token: none is 401, the client role may not create keys (403), the admin role may", async () => {
    const pool = uniquePool();
    await expect(testClient({ pool, token: undefined }).info(crypto.randomUUID())).rejects.toMatchObject({
      status: 401,
    });
    await expect(testClient({ pool }).createKey()).rejects.toMatchObject({ status: 403 });
    await expect(adminClient({ pool }).createKey()).resolves.toMatchObject({ keyId: expect.any(String) });
  });

  it("calls the operator API as admin", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    await admin.createKeys(3);
    await testClient({ pool }).assign();
    expect(await admin.updateSettings({ blockTtlSeconds: 30 })).toEqual({ ...DEFAULT_SETTINGS, blockTtlSeconds: 30 });
    expect(await admin.poolStats()).toMatchObject({ pool, keys: { total: 3, free: 2, blocked: 1 } });
    const first = await admin.listKeys({ state: "all", limit: 2 });
    expect(first.keys).toHaveLength(2);
    const rest = await admin.listKeys({ state: "all", limit: 2, cursor: first.cursor ?? undefined });
    expect(rest).toMatchObject({ keys: [expect.objectContaining({ keyId: expect.any(String) })], cursor: null });
    await expect(testClient({ pool }).poolStats()).rejects.toMatchObject({ status: 403 });
  });

  it("uses the pool `default` without a pool", async () => {
    const { keyId } = await adminClient().createKey();
    expect((await call("GET", `/pools/default/keys/${keyId}/info`)).status).toBe(200);
  });
});

describe("lost answers", () => {
  it("a retried assignment whose first answer was lost returns the same key, and blocks no other", async () => {
    const pool = uniquePool();
    await adminClient({ pool }).createKeys(5);
    const { fetch, seen } = losingAnswers((request, i) => request.method === "GET" && i === 0);
    const assigned = await testClient({ pool, fetch }).assign();
    expect(seen).toHaveLength(2);
    expect(seen[0]?.headers.get("idempotency-key")).toBe(seen[1]?.headers.get("idempotency-key"));
    // The Worker handled both requests but blocked one key: four are still free.
    const info = await testClient({ pool }).info(assigned.keyId);
    expect(info.isBlocked).toBe(true);
    const rest = await Promise.allSettled(Array.from({ length: 5 }, () => testClient({ pool }).assign()));
    expect(rest.filter((r) => r.status === "fulfilled")).toHaveLength(4);
    const later = rest.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(later.map((a) => a.keyId)).not.toContain(assigned.keyId);
    expect(Math.min(...later.map((a) => a.lease))).toBe(assigned.lease + 1);
  });

  it("acquire survives a lost assignment answer the same way", async () => {
    const pool = uniquePool();
    await adminClient({ pool }).createKeys(2);
    const { fetch } = losingAnswers((request, i) => request.method === "GET" && i === 0);
    const lease = await testClient({ pool, fetch }).acquire({ keepAlive: false });
    expect(await testClient({ pool }).assign()).toMatchObject({ lease: lease.lease + 1 });
    expect(await lease.release()).toBe(true);
  });

  it("a retried create whose first answer was lost creates the keys once", async () => {
    const pool = uniquePool();
    const { fetch } = losingAnswers((_request, i) => i < 2);
    const { keyIds } = await adminClient({ pool, fetch }).createKeys(3);
    expect(keyIds).toHaveLength(3);
    const assigned = await Promise.allSettled(Array.from({ length: 4 }, () => testClient({ pool }).assign()));
    expect(assigned.filter((r) => r.status === "fulfilled")).toHaveLength(3);
  });

  it("a retried import whose first answer was lost imports the values once and answers their ids", async () => {
    const pool = uniquePool();
    const { fetch, seen } = losingAnswers((_request, i) => i === 0);
    const values = [`sk-${crypto.randomUUID()}`, `sk-${crypto.randomUUID()}`];
    const { keyIds } = await adminClient({ pool, fetch }).importKeys(values.map((key) => ({ key })));
    expect(seen).toHaveLength(2);
    expect(seen[0]?.headers.get("idempotency-key")).toBe(seen[1]?.headers.get("idempotency-key"));
    expect(keyIds).toHaveLength(2);
    expect((await adminClient({ pool }).poolStats()).keys.total).toBe(2);
  });

  it("a retried delete whose first answer was lost resolves as deleted", async () => {
    const pool = uniquePool();
    const { keyId } = await adminClient({ pool }).createKey();
    const { fetch, seen } = losingAnswers((_request, i) => i === 0);
    expect(await adminClient({ pool, fetch }).deleteKey(keyId)).toEqual({ keyId, deleted: true });
    expect(seen).toHaveLength(2);
    await expect(testClient({ pool }).info(keyId)).rejects.toMatchObject({ status: 404 });
  });

  it("a release whose answer was lost resolves false, and the key is free", async () => {
    const pool = uniquePool();
    await adminClient({ pool }).createKey();
    const { fetch, seen } = losingAnswers((request, i) => request.method === "PUT" && i === 1);
    const lease = await testClient({ pool, fetch }).acquire({ keepAlive: false });
    // The first unblock is done but its answer lost; the retry finds the lease gone (409).
    expect(await lease.release()).toBe(false);
    expect(seen.map((r) => r.method)).toEqual(["GET", "PUT", "PUT"]);
    expect(lease.state).toBe("released");
    expect((await testClient({ pool }).info(lease.keyId)).isBlocked).toBe(false);
  });

  it("acquire gives the key back and throws when its first keep-alive fails", async () => {
    const pool = uniquePool();
    const { keyId } = await adminClient({ pool }).createKey();
    const fetch = async (request: Request) =>
      request.url.includes("/alive")
        ? new Response('{"error":"Internal error"}', { status: 500 })
        : exports.default.fetch(request);
    await expect(testClient({ pool, fetch }).acquire()).rejects.toMatchObject({ status: 500, attempts: 4 });
    expect((await testClient({ pool }).info(keyId)).isBlocked).toBe(false);
  });

  it("a delete of a key that never existed still fails with 404", async () => {
    await expect(adminClient({ pool: uniquePool() }).deleteKey(crypto.randomUUID())).rejects.toMatchObject({
      status: 404,
    });
  });
});
