import { beforeAll, describe, expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { call } from "../support/http";
import {
  blockKey,
  createKey,
  createKeys,
  drain,
  expectError,
  expectOk,
  INFO_FIELDS,
  ISO_MS,
  infoOf,
  LEASE_TOKEN,
  poolBase,
  UUID_V4,
  unknownId,
  warmUp,
} from "../support/keys";
import { GENERATED, HEALTHY } from "../support/records";
import { BLOCK_TTL_MS, iso, KEY_TTL_MS } from "../support/timings";

/**
 * Every key route, each test in a pool of its own (`poolBase`), so a test may assert what GET /keys
 * (assign) picks or that nothing is free. `/keys` is the same routes on the pool "default": the last
 * test shows the two mounts serve one pool.
 */

beforeAll(warmUp, 30_000);

describe("the key routes", () => {
  const newBase = poolBase;
  describe("POST creates keys", () => {
    it("creates one free key and answers 201 with only its keyId, a UUIDv4", async () => {
      const base = newBase();
      const body = expectOk(await call("POST", base), 201);
      expect(Object.keys(body)).toEqual(["keyId"]);
      expect(body.keyId).toMatch(UUID_V4);
      expect((await infoOf(base, body.keyId)).isBlocked).toBe(false);
    });

    it("treats an empty JSON object like no body", async () => {
      const base = newBase();
      const body = expectOk(await call("POST", base, { json: {} }), 201);
      expect(Object.keys(body)).toEqual(["keyId"]);
      expect(body.keyId).toMatch(UUID_V4);
    });

    it('creates N keys with {"count": N} and answers {"keyIds": [...]}, all distinct and usable', async () => {
      const base = newBase();
      const body = expectOk(await call("POST", base, { json: { count: 5 } }), 201);
      expect(Object.keys(body)).toEqual(["keyIds"]);
      expect(body.keyIds).toHaveLength(5);
      expect(new Set(body.keyIds).size).toBe(5);
      for (const keyId of body.keyIds) {
        expect(keyId).toMatch(UUID_V4);
        expect((await call("GET", `${base}/${keyId}`)).status).toBe(200);
      }
    });

    it('answers a list even for {"count": 1}', async () => {
      const body = expectOk(await call("POST", newBase(), { json: { count: 1 } }), 201);
      expect(body.keyIds).toHaveLength(1);
      expect(body.keyIds[0]).toMatch(UUID_V4);
    });

    it("answers 400 for a bad body", async () => {
      expectError(await call("POST", newBase(), { json: { count: 0 } }), 400);
    });

    it("gives every key a value that is a UUIDv4 independent of its id", async () => {
      const base = newBase();
      const [a, b] = await createKeys(base, 2);
      const valueA = expectOk(await call("GET", `${base}/${a}`)).key;
      const valueB = expectOk(await call("GET", `${base}/${b}`)).key;
      expect(valueA).toMatch(UUID_V4);
      expect(valueB).toMatch(UUID_V4);
      expect(new Set([a, b, valueA, valueB]).size).toBe(4);
    });
  });

  describe("GET assigns a free key", () => {
    it("hands out a key with its value, a lease, a holder secret and releaseAt = now + BLOCK_TTL_MS, and blocks it", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const created = await createKey(base);
      const body = expectOk(await call("GET", base));
      expect(Object.keys(body).sort()).toEqual(["key", "keyId", "lease", "leaseToken", "releaseAt"]);
      expect(body.leaseToken).toMatch(LEASE_TOKEN);
      expect(body.keyId).toMatch(UUID_V4);
      expect(body.key).toMatch(UUID_V4);
      expect(body.key).not.toBe(body.keyId);
      expect(Number.isSafeInteger(body.lease) && body.lease >= 1).toBe(true);
      expect(body.releaseAt).toBe(iso(clock.nowMs + BLOCK_TTL_MS));
      expect(body.keyId).toBe(created);

      const info = await infoOf(base, body.keyId);
      expect(info).toMatchObject({ isBlocked: true, blockedAt: iso(clock.nowMs), releaseAt: body.releaseAt });
      expectError(await call("GET", `${base}/${body.keyId}`), 403);
    });

    it("hands out the same value that GET /keys/{id} revealed while the key was free", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      const revealed = expectOk(await call("GET", `${base}/${keyId}`)).key;
      const assigned = expectOk(await call("GET", base));
      expect(assigned).toMatchObject({ keyId, key: revealed });
    });

    it("answers 404 when no key is free, and hands out each free key exactly once before that", async () => {
      const base = newBase();
      const created = await createKeys(base, 3);
      const assignments = await drain(base);
      const ids = assignments.map((a) => a.keyId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(created));
      expect(ids).toHaveLength(3);
      expectError(await call("GET", base), 404);
    });

    it("gives every block a bigger lease than the block before it", async () => {
      const base = newBase();
      const [a, b] = await createKeys(base, 2);
      const first = await blockKey(base, a as string);
      const second = await blockKey(base, b as string);
      expect(second.lease).toBeGreaterThan(first.lease);
      await createKey(base);
      const third = expectOk(await call("GET", base));
      expect(third.lease).toBeGreaterThan(second.lease);
    });
  });

  describe("GET /{id} reveals a usable key", () => {
    it("answers 200 {keyId, key} for a free key and changes nothing", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      const before = await infoOf(base, keyId);
      clock.advance(1_000);

      const first = expectOk(await call("GET", `${base}/${keyId}`));
      expect(Object.keys(first).sort()).toEqual(["key", "keyId"]);
      expect(first.keyId).toBe(keyId);
      expect(first.key).toMatch(UUID_V4);
      expect(expectOk(await call("GET", `${base}/${keyId}`))).toEqual(first);
      expect(await infoOf(base, keyId)).toEqual(before);
    });

    it("answers 403 without the value while the key is blocked", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      const value = expectOk(await call("GET", `${base}/${keyId}`)).key;
      await blockKey(base, keyId);
      const reply = await call("GET", `${base}/${keyId}`);
      expectError(reply, 403);
      expect(JSON.stringify(reply.body)).not.toContain(value);
      expect((await infoOf(base, keyId)).isBlocked).toBe(true);
    });

    it("answers 404 for an unknown id", async () => {
      expectError(await call("GET", `${newBase()}/${unknownId()}`), 404);
    });
  });

  describe("GET /{id}/info shows state and deadlines", () => {
    it("shows a new key as free, with expiresAt = createdAt + KEY_TTL_MS and no block times", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      const info = await infoOf(base, keyId);
      expect(Object.keys(info).sort()).toEqual(INFO_FIELDS);
      expect(info).toEqual({
        isBlocked: false,
        createdAt: iso(clock.nowMs),
        expiresAt: iso(clock.nowMs + KEY_TTL_MS),
        lastActivity: iso(clock.nowMs),
        blockedAt: null,
        releaseAt: null,
        ...GENERATED,
        ...HEALTHY,
      });
    });

    it("shows a blocked key with blockedAt and releaseAt = blockedAt + BLOCK_TTL_MS", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      clock.advance(5_000);
      await blockKey(base, keyId);
      const info = await infoOf(base, keyId);
      expect(Object.keys(info).sort()).toEqual(INFO_FIELDS);
      expect(info).toMatchObject({
        isBlocked: true,
        blockedAt: iso(clock.nowMs),
        releaseAt: iso(clock.nowMs + BLOCK_TTL_MS),
      });
      for (const field of ["createdAt", "expiresAt", "lastActivity", "blockedAt", "releaseAt"]) {
        expect(info[field]).toMatch(ISO_MS);
      }
    });

    it("never contains the key value", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      const value = expectOk(await call("GET", `${base}/${keyId}`)).key;
      const free = await call("GET", `${base}/${keyId}/info`);
      await blockKey(base, keyId);
      const blocked = await call("GET", `${base}/${keyId}/info`);
      for (const reply of [free, blocked]) {
        expect(reply.body).not.toHaveProperty("key");
        expect(JSON.stringify(reply.body)).not.toContain(value);
      }
    });

    it("answers 404 for an unknown id", async () => {
      expectError(await call("GET", `${newBase()}/${unknownId()}/info`), 404);
    });
  });

  describe("DELETE /{id} removes a key", () => {
    it("answers 200 {keyId, deleted: true}, after which every endpoint answers 404", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      expect(expectOk(await call("DELETE", `${base}/${keyId}`))).toEqual({ keyId, deleted: true });

      expectError(await call("GET", `${base}/${keyId}`), 404);
      expectError(await call("GET", `${base}/${keyId}/info`), 404);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked: true } }), 404);
      expectError(await call("PUT", `${base}/${keyId}/alive`), 404);
      expectError(await call("DELETE", `${base}/${keyId}`), 404);
      expectError(await call("GET", base), 404);
    });

    it("deletes a blocked key too", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      await blockKey(base, keyId);
      expect(expectOk(await call("DELETE", `${base}/${keyId}`))).toEqual({ keyId, deleted: true });
      expectError(await call("GET", `${base}/${keyId}/info`), 404);
    });

    it("answers 404 for an unknown id", async () => {
      expectError(await call("DELETE", `${newBase()}/${unknownId()}`), 404);
    });
  });

  describe("PUT /{id} blocks and unblocks", () => {
    it('blocks a free key with {"blocked": true}: 200, info, a new lease and its secret, releaseAt = now + BLOCK_TTL_MS', async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      const body = expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: true } }));
      expect(Object.keys(body).sort()).toEqual([...INFO_FIELDS, "lease", "leaseToken"].sort());
      expect(body.leaseToken).toMatch(LEASE_TOKEN);
      expect(body).toMatchObject({
        isBlocked: true,
        blockedAt: iso(clock.nowMs),
        releaseAt: iso(clock.nowMs + BLOCK_TTL_MS),
      });
      expect(Number.isSafeInteger(body.lease) && body.lease >= 1).toBe(true);
      expectError(await call("GET", `${base}/${keyId}`), 403);
      expectError(await call("GET", base), 404);
    });

    it('unblocks with {"blocked": false}: 200 info without a lease, and the value is served again', async () => {
      const base = newBase();
      const keyId = await createKey(base);
      await blockKey(base, keyId);
      const body = expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: false } }));
      expect(Object.keys(body).sort()).toEqual(INFO_FIELDS);
      expect(body).toMatchObject({ isBlocked: false, blockedAt: null, releaseAt: null });
      expect(expectOk(await call("GET", `${base}/${keyId}`)).keyId).toBe(keyId);
      expect(expectOk(await call("GET", base)).keyId).toBe(keyId);
    });

    it("lets the holder unblock with its current lease", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      const { lease } = await blockKey(base, keyId);
      const body = expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: false, lease } }));
      expect(body).toMatchObject({ isBlocked: false, blockedAt: null, releaseAt: null });
      expect(body).not.toHaveProperty("lease");
    });

    it("answers 200 and leaves a free key free when it is unblocked", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      const before = await infoOf(base, keyId);
      expect(expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: false } }))).toEqual(before);
    });

    it("renews a block with the current lease: same lease, blockedAt = now, releaseAt = now + BLOCK_TTL_MS", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      const first = await blockKey(base, keyId);
      clock.advance(45_000);
      const renewed = expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: true, lease: first.lease } }));
      expect(renewed).toMatchObject({
        isBlocked: true,
        lease: first.lease,
        blockedAt: iso(clock.nowMs),
        releaseAt: iso(clock.nowMs + BLOCK_TTL_MS),
      });

      clock.advance(BLOCK_TTL_MS - 1); // well past the first block's release
      expect((await infoOf(base, keyId)).isBlocked).toBe(true);
      clock.advance(1);
      expect((await infoOf(base, keyId)).isBlocked).toBe(false);
    });

    it('answers 409 to {"blocked": true} without a lease on a blocked key, and the block stays as it was', async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      const { lease } = await blockKey(base, keyId);
      const before = await infoOf(base, keyId);
      clock.advance(10_000);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked: true } }), 409);
      expect(await infoOf(base, keyId)).toEqual(before);
      // The holder's lease still works.
      expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: false, lease } }));
    });

    it("answers 409 to a lease that is not the key's current one, and changes nothing", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      const { lease } = await blockKey(base, keyId);
      const before = await infoOf(base, keyId);
      for (const blocked of [true, false]) {
        expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked, lease: lease + 1 } }), 409);
        expect(await infoOf(base, keyId)).toEqual(before);
      }
      expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: true, lease } }));
    });

    it("answers 409 to any lease on a free key, which has none", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      const before = await infoOf(base, keyId);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked: true, lease: 1 } }), 409);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked: false, lease: 1 } }), 409);
      expect(await infoOf(base, keyId)).toEqual(before);
    });

    it("answers 400 for a bad body", async () => {
      const base = newBase();
      const keyId = await createKey(base);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { lease: 1 } }), 400);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked: "true" } }), 400);
    });

    it("answers 404 for an unknown id", async () => {
      expectError(await call("PUT", `${newBase()}/${unknownId()}`, { json: { blocked: true } }), 404);
    });
  });

  describe("PUT /{id}/alive keeps a key alive", () => {
    it("sets lastActivity = now and expiresAt = now + KEY_TTL_MS, keeping createdAt", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      const createdAt = iso(clock.nowMs);
      clock.advance(100_000);
      const body = expectOk(await call("PUT", `${base}/${keyId}/alive`));
      expect(body).toEqual({
        isBlocked: false,
        createdAt,
        expiresAt: iso(clock.nowMs + KEY_TTL_MS),
        lastActivity: iso(clock.nowMs),
        blockedAt: null,
        releaseAt: null,
        ...GENERATED,
        ...HEALTHY,
      });
      expect(await infoOf(base, keyId)).toEqual(body);
    });

    it("works on a blocked key, with or without its lease, and leaves the block as it was", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      const { lease, blockedAt, releaseAt } = await blockKey(base, keyId);

      clock.advance(10_000);
      const plain = expectOk(await call("PUT", `${base}/${keyId}/alive`));
      expect(plain).toMatchObject({ isBlocked: true, blockedAt, releaseAt, expiresAt: iso(clock.nowMs + KEY_TTL_MS) });

      clock.advance(10_000);
      const leased = expectOk(await call("PUT", `${base}/${keyId}/alive?lease=${lease}`));
      expect(leased).toMatchObject({ isBlocked: true, blockedAt, releaseAt, lastActivity: iso(clock.nowMs) });
      expect(leased.expiresAt).toBe(iso(clock.nowMs + KEY_TTL_MS));
      expectError(await call("GET", `${base}/${keyId}`), 403);
    });

    it("answers 409 to a lease that is not the key's current one, and changes nothing", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const [free, held] = (await createKeys(base, 2)) as [string, string];
      const { lease } = await blockKey(base, held);
      const freeBefore = await infoOf(base, free);
      const heldBefore = await infoOf(base, held);
      clock.advance(10_000);

      expectError(await call("PUT", `${base}/${held}/alive?lease=${lease + 1}`), 409);
      expectError(await call("PUT", `${base}/${free}/alive?lease=${lease}`), 409);
      expect(await infoOf(base, held)).toEqual(heldBefore);
      expect(await infoOf(base, free)).toEqual(freeBefore);
    });

    it("answers 404 for an unknown id", async () => {
      expectError(await call("PUT", `${newBase()}/${unknownId()}/alive`), 404);
    });
  });

  describe("deadlines (read at the exact millisecond, with no alarm run)", () => {
    it("serves a key until 1 ms before expiresAt and answers 404 on every endpoint from expiresAt on", async () => {
      const clock = useFakeClock();
      const base = newBase();
      // One key per endpoint, so each endpoint is the first to meet its key's passed deadline.
      const [forGet, forInfo, forPut, forAlive, forDelete] = (await createKeys(base, 5)) as string[];

      clock.advance(KEY_TTL_MS - 1);
      expectOk(await call("GET", `${base}/${forGet}`));
      expectOk(await call("GET", `${base}/${forInfo}/info`));

      clock.advance(1);
      expectError(await call("GET", `${base}/${forGet}`), 404);
      expectError(await call("GET", `${base}/${forInfo}/info`), 404);
      expectError(await call("PUT", `${base}/${forPut}`, { json: { blocked: true } }), 404);
      expectError(await call("PUT", `${base}/${forAlive}/alive`), 404);
      expectError(await call("DELETE", `${base}/${forDelete}`), 404);
      expectError(await call("GET", base), 404);
    });

    it("expires a blocked key at expiresAt too: blocking does not keep a key alive", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      clock.advance(KEY_TTL_MS - 10_000);
      const blocked = await blockKey(base, keyId);
      expect(Date.parse(blocked.releaseAt)).toBeGreaterThan(Date.parse(blocked.expiresAt));
      clock.advance(10_000);
      expectError(await call("GET", `${base}/${keyId}/info`), 404);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked: false, lease: blocked.lease } }), 404);
    });

    it("keeps a kept-alive key past its first deadline until now + KEY_TTL_MS", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      clock.advance(KEY_TTL_MS - 1);
      const { expiresAt } = expectOk(await call("PUT", `${base}/${keyId}/alive`));
      expect(expiresAt).toBe(iso(clock.nowMs + KEY_TTL_MS));

      clock.advance(KEY_TTL_MS - 1);
      expectOk(await call("GET", `${base}/${keyId}`));
      clock.advance(1);
      expectError(await call("GET", `${base}/${keyId}`), 404);
    });

    it("keeps a blocked key alive with keep-alive, and it is usable after its release", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      clock.advance(KEY_TTL_MS - 30_000);
      await blockKey(base, keyId);
      const { expiresAt } = expectOk(await call("PUT", `${base}/${keyId}/alive`));
      expect(expiresAt).toBe(iso(clock.nowMs + KEY_TTL_MS));
      clock.advance(BLOCK_TTL_MS); // past the key's first deadline, and its block is over
      expect(expectOk(await call("GET", `${base}/${keyId}`)).keyId).toBe(keyId);
    });

    it("frees a blocked key at exactly blockedAt + BLOCK_TTL_MS; a new block gets a bigger lease and the old lease is refused", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      const old = expectOk(await call("GET", base));
      expect(old.keyId).toBe(keyId);

      clock.advance(BLOCK_TTL_MS - 1);
      expect((await infoOf(base, keyId)).isBlocked).toBe(true);
      expectError(await call("GET", `${base}/${keyId}`), 403);
      expectError(await call("GET", base), 404);

      clock.advance(1);
      expect(await infoOf(base, keyId)).toMatchObject({ isBlocked: false, blockedAt: null, releaseAt: null });
      expect(expectOk(await call("GET", `${base}/${keyId}`)).keyId).toBe(keyId);
      expectError(await call("PUT", `${base}/${keyId}/alive?lease=${old.lease}`), 409);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked: true, lease: old.lease } }), 409);
      expect((await infoOf(base, keyId)).isBlocked).toBe(false);

      const again = expectOk(await call("GET", base));
      expect(again.keyId).toBe(keyId);
      expect(again.lease).toBeGreaterThan(old.lease);
      expectError(await call("PUT", `${base}/${keyId}`, { json: { blocked: false, lease: old.lease } }), 409);
      expectError(await call("PUT", `${base}/${keyId}/alive?lease=${old.lease}`), 409);
      expect((await infoOf(base, keyId)).isBlocked).toBe(true);
      expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: false, lease: again.lease } }));
    });

    it("never brings back a key deleted while blocked, not even after its release or expiry time", async () => {
      const clock = useFakeClock();
      const base = newBase();
      const keyId = await createKey(base);
      await blockKey(base, keyId);
      expectOk(await call("DELETE", `${base}/${keyId}`));
      for (const step of [BLOCK_TTL_MS, KEY_TTL_MS]) {
        clock.advance(step);
        expectError(await call("GET", `${base}/${keyId}`), 404);
        expectError(await call("GET", `${base}/${keyId}/info`), 404);
        expectError(await call("GET", base), 404);
      }
    });
  });
});

describe("pools", () => {
  it("serves /keys and /pools/default/keys as the same pool", async () => {
    const keyId = await createKey("/keys");
    const direct = expectOk(await call("GET", `/keys/${keyId}`));
    expect(expectOk(await call("GET", `/pools/default/keys/${keyId}`))).toEqual(direct);
    await blockKey("/pools/default/keys", keyId);
    expectError(await call("GET", `/keys/${keyId}`), 403);
  });

  it("keeps pools apart: a key of one pool is unknown in another and in /keys", async () => {
    const base = poolBase();
    const other = poolBase();
    const keyId = await createKey(base);
    expectError(await call("GET", `${other}/${keyId}`), 404);
    expectError(await call("GET", `/keys/${keyId}/info`), 404);
    expectError(await call("DELETE", `${other}/${keyId}`), 404);
    expectError(await call("GET", other), 404);
    expectOk(await call("GET", `${base}/${keyId}`));
  });

  it('creates the maximum of 1000 keys with {"count": 1000}', async () => {
    const base = poolBase();
    const keyIds = await createKeys(base, 1000);
    expect(keyIds).toHaveLength(1000);
    expect(new Set(keyIds).size).toBe(1000);
    expectOk(await call("GET", `${base}/${keyIds[999]}/info`));
  });

  it("chooses among all free keys at random, not always the same one", async () => {
    const base = poolBase();
    const keyIds = await createKeys(base, 3);
    const draws = new Map<string, number>(keyIds.map((id) => [id, 0]));
    // 150 draws over 3 keys: each is expected 50 times; fewer than 20 is about 5 standard deviations off.
    for (let i = 0; i < 150; i++) {
      const { keyId, lease } = expectOk(await call("GET", base));
      draws.set(keyId, (draws.get(keyId) ?? 0) + 1);
      expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: false, lease } }));
    }
    expect([...draws.keys()].sort()).toEqual([...keyIds].sort());
    for (const count of draws.values()) expect(count).toBeGreaterThanOrEqual(20);
  });

  it("still chooses among all free keys right after many blocks end at once, before any alarm runs", async () => {
    const clock = useFakeClock();
    const base = poolBase();
    await createKeys(base, 1000);
    // Block every key, 1 ms apart, so the blocks also end one after another in this order.
    const blockOrder: string[] = [];
    for (let i = 0; i < 1000; i++) {
      blockOrder.push(expectOk(await call("GET", base)).keyId);
      clock.advance(1);
    }
    clock.advance(BLOCK_TTL_MS);
    expect((await infoOf(base, blockOrder[999] as string)).isBlocked).toBe(false);

    // Every key is free now, so each pick is uniform over (nearly) all 1000. The chance that the
    // i-th of 10 picks always falls among the 80·i blocks that ended first is 10!·0.08^10 < 4e-5.
    const picks: number[] = [];
    for (let i = 0; i < 10; i++) picks.push(blockOrder.indexOf(expectOk(await call("GET", base)).keyId));
    const onlyEarliest = picks.every((index, i) => index < 80 * (i + 1));
    expect(onlyEarliest, `picks by release order: ${picks.join(", ")}`).toBe(false);
  }, 60_000);
});
