import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configOf } from "../../src/config";
import type { KeyPool } from "../../src/key-pool";
import { SCHEMA_VERSION } from "../../src/storage/migrations";
import { uuidToBytes } from "../../src/storage/uuid";
import { useFakeClock } from "../support/clock";
import { checkStorage, contains, snapshot } from "../support/durable-pool";
import { buildV1Pool, buildV2Pool, buildV3Pool, buildV4Pool, rewriteAsV5, schemaVersion } from "../support/legacy-pool";
import { ADMIN, addKeys, adminWithLease, freshPool, internalsOf } from "../support/pool";
import { DEFAULT_SETTINGS, GENERATED, HEALTHY } from "../support/records";
import { iso, KEY_TTL_MS } from "../support/timings";

describe("a pool written by storage version 1", () => {
  it("is upgraded when its object starts, and every key, lease, deadline, counter and setting survives", async () => {
    const clock = useFakeClock();
    const stub = freshPool();
    const v1 = await buildV1Pool(stub, clock.nowMs);
    const { now } = v1;
    await evictDurableObject(stub);

    expect(await stub.info(v1.free[0])).toEqual({
      ok: true,
      value: {
        isBlocked: false,
        createdAt: iso(now - 20_000),
        lastActivity: iso(now - 10_000),
        expiresAt: iso(now - 10_000 + KEY_TTL_MS),
        blockedAt: null,
        releaseAt: null,
        ...GENERATED,
        ...HEALTHY,
      },
    });
    expect(await schemaVersion(stub)).toBe(SCHEMA_VERSION);
    expect(await stub.info(v1.held)).toMatchObject({
      ok: true,
      value: { isBlocked: true, blockedAt: iso(now - 5_000), releaseAt: iso(now + 25_000) },
    });
    expect(await stub.info(v1.longHold)).toMatchObject({ ok: true, value: { releaseAt: iso(now + 599_000) } });
    expect(await stub.info(v1.overdue)).toMatchObject({ ok: true, value: { isBlocked: false, releaseAt: null } });
    expect(await stub.info(v1.expired)).toEqual({ ok: false, refusal: "not_found" });
    expect(await stub.reveal(v1.free[1])).toEqual({
      ok: true,
      value: { keyId: v1.free[1], key: v1.values[v1.free[1]] },
    });
    expect(await stub.reveal(v1.held)).toEqual({ ok: false, refusal: "blocked" });

    // Idempotency entries of version 1 and 2 were shared by every caller and held key values:
    // version 3 drops them, so none is replayed (a retry across the upgrade is a new call).
    expect(await idempotencyEntries(stub)).toBe(0);

    // Counters go on from where they were; the overdue release and the expiry are counted once.
    expect(await stub.poolStats()).toMatchObject({
      ok: true,
      value: {
        keys: { total: 5, free: 3, blocked: 2 },
        counters: { ...v1.counters, released: v1.counters.released + 1, expired: v1.counters.expired + 1 },
        settings: {
          keyTtlSeconds: KEY_TTL_MS / 1000,
          blockTtlSeconds: 30,
          revealValues: "anyone",
          keysExpire: true,
          cooldownSeconds: 60,
          maxFailures: 3,
          lockDelaySeconds: 0,
        },
      },
    });

    // Blocks made before holder secrets existed: no client can prove holding them (a lease alone
    // proves nothing), an admin still can act on them with their lease; they end by themselves.
    const clientWithLease = { admin: false, lease: 7 };
    expect(await stub.setBlocked(v1.held, false, clientWithLease)).toEqual({ ok: false, refusal: "lease_conflict" });
    expect(await stub.keepAlive(v1.longHold, adminWithLease(9))).toMatchObject({ ok: true });
    expect(await stub.setBlocked(v1.held, false, adminWithLease(7))).toMatchObject({
      ok: true,
      value: { isBlocked: false },
    });
    const assigned = [];
    for (let i = 0; i < 4; i++) assigned.push(await stub.assign());
    expect(assigned.map((a) => (a.ok ? a.value.keyId : null)).sort()).toEqual([...v1.free, v1.held, v1.overdue].sort());
    expect(assigned.map((a) => (a.ok ? a.value.lease : 0)).every((lease) => lease > v1.leaseSeq)).toBe(true);
    expect(await stub.assign()).toMatchObject({ ok: false, refusal: "none_free" });

    // Its pending deadlines still fire: every key expires once its TTL has passed.
    clock.advance(KEY_TTL_MS);
    await runDurableObjectAlarm(stub);
    expect((await snapshot(stub)).rows).toEqual([]);
  });
});

describe("a pool of the first storage-version-1 code, without pool_stats and idempotency tables", () => {
  it("gets them when it is upgraded, its keys counted once, and hands out leases above its old ones", async () => {
    const clock = useFakeClock();
    const stub = freshPool();
    const v1 = await buildV1Pool(stub, clock.nowMs, true);
    await evictDurableObject(stub);

    expect(await schemaVersion(stub)).toBe(SCHEMA_VERSION);
    // Six keys counted when the table was made; the stats call then settles the expiry and the release.
    expect(await stub.poolStats()).toMatchObject({
      ok: true,
      value: {
        keys: { total: 5, free: 3, blocked: 2 },
        counters: { created: 0, assigned: 0, released: 1, expired: 1, deleted: 0 },
      },
    });
    const assigned = await stub.assign();
    expect(assigned.ok && assigned.value.lease).toBe(v1.leaseSeq + 1);
    // Idempotency works from now on.
    const token = { keyHash: new Uint8Array(32).fill(1), requestHash: new Uint8Array(32).fill(2) };
    const first = await stub.create(1, { idempotency: token });
    expect(await stub.create(1, { idempotency: token })).toEqual(first);
  });
});

function idempotencyEntries(stub: DurableObjectStub<KeyPool>): Promise<number> {
  return runInDurableObject(
    stub,
    (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM idempotency").one().n,
  );
}

describe("a pool written by storage version 2", () => {
  it("gets holder secrets: its keys, counts and leases survive, its blocks stay an admin's to end early", async () => {
    const clock = useFakeClock();
    const stub = freshPool();
    const v2 = await buildV2Pool(stub, clock.nowMs);
    await evictDurableObject(stub);

    expect(await schemaVersion(stub)).toBe(SCHEMA_VERSION);
    expect(await idempotencyEntries(stub)).toBe(0); // caller-blind, and it held a key value
    expect(await stub.poolStats()).toMatchObject({
      ok: true,
      value: {
        keys: { total: 2, free: 1, blocked: 1 },
        // The keys' own counts are added to what keys gone counted.
        counters: {
          created: v2.stored.created,
          assigned: v2.stored.assigned + 3,
          released: v2.stored.released + 1,
          expired: v2.stored.expired,
          deleted: v2.stored.deleted,
        },
        settings: DEFAULT_SETTINGS,
      },
    });
    expect(await stub.reveal(v2.free)).toEqual({ ok: true, value: { keyId: v2.free, key: v2.values[v2.free] } });
    // The block made before holder secrets: no client can prove holding it, an admin can end it.
    const anySecret = { admin: false, lease: 9, holder: new Uint8Array(32) };
    expect(await stub.setBlocked(v2.held, false, anySecret)).toEqual({ ok: false, refusal: "lease_conflict" });
    expect(await stub.setBlocked(v2.held, false, adminWithLease(9))).toMatchObject({ ok: true });
    // New blocks get leases above the floor kept for keys gone.
    const assigned = await stub.assign();
    expect(assigned.ok && assigned.value.lease).toBe(v2.leaseFloor + 1);
  });
});

describe("a pool written by storage version 3", () => {
  it("keeps every key, holder, deadline and answer, and seals every old value once a key is configured", async () => {
    const clock = useFakeClock();
    const stub = freshPool();
    const v3 = await buildV3Pool(stub, clock.nowMs);
    const { now } = v3;
    await evictDurableObject(stub);

    expect(await schemaVersion(stub)).toBe(SCHEMA_VERSION);
    expect(await stub.info(v3.free)).toEqual({
      ok: true,
      value: {
        isBlocked: false,
        createdAt: iso(now - 100_000),
        lastActivity: iso(now - 10_000),
        expiresAt: iso(now - 10_000 + KEY_TTL_MS),
        blockedAt: null,
        releaseAt: null,
        ...GENERATED,
        ...HEALTHY,
      },
    });
    expect(await stub.info(v3.held)).toMatchObject({
      ok: true,
      value: { isBlocked: true, releaseAt: iso(now + 50_000) },
    });
    expect(await stub.info(v3.overdue)).toMatchObject({ ok: true, value: { isBlocked: false } });
    expect(await stub.info(v3.expired)).toEqual({ ok: false, refusal: "not_found" });

    // The stored answer loses the value it held; its replay reads the value from the key.
    expect(await storedAnswer(stub)).not.toContain(v3.values[v3.held]);
    expect(await stub.assign({ idempotency: v3.replay })).toMatchObject({
      ok: true,
      value: { keyId: v3.held, key: v3.values[v3.held], lease: 11 },
    });

    // The values are stored as they were until the alarm seals them, a batch at a time.
    const sealing = (await configOf(env).valueKeys).sealing?.fingerprint;
    expect(await stub.poolStats()).toMatchObject({
      ok: true,
      value: {
        keys: { total: 3, free: 2, blocked: 1 },
        settings: {
          revealValues: "anyone",
          keysExpire: true,
          cooldownSeconds: 60,
          maxFailures: 3,
          lockDelaySeconds: 0,
        },
        encryption: { sealingKey: sealing, toReseal: 3, values: [{ sealedBy: null, values: 3, available: true }] },
      },
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true); // armed when the object started
    const rows = (await snapshot(stub)).rows;
    expect(rows.map((row) => row.sealed_by)).toEqual([sealing, sealing, sealing]);
    for (const row of rows) expect(contains(row.secret, uuidBytes(v3.values[row.id] as string))).toBe(false);
    expect(await stub.poolStats()).toMatchObject({
      ok: true,
      value: { encryption: { toReseal: 0, values: [{ sealedBy: sealing, values: 3 }] } },
    });
    expect(await sealedWith(stub)).toBe(sealing);

    // Sealed, every value reads as before; the holder's secret still proves its block.
    expect(await stub.reveal(v3.free)).toEqual({ ok: true, value: { keyId: v3.free, key: v3.values[v3.free] } });
    const holder = { admin: false, holder: v3.holderDigest };
    expect(await stub.reveal(v3.held, holder)).toEqual({
      ok: true,
      value: { keyId: v3.held, key: v3.values[v3.held] },
    });
    expect(await stub.setBlocked(v3.held, false, holder)).toMatchObject({ ok: true, value: { isBlocked: false } });
  });
});

describe("a pool written by storage version 4", () => {
  it("keeps every key, value, label, holder, deadline, counter, setting and answer, and every key starts healthy", async () => {
    const clock = useFakeClock();
    const stub = freshPool();
    const v4 = await buildV4Pool(stub, clock.nowMs);
    const { now } = v4;
    await evictDurableObject(stub);

    expect(await schemaVersion(stub)).toBe(SCHEMA_VERSION);
    const untouched = { createdAt: iso(now - 100_000), lastActivity: iso(now - 10_000), ...HEALTHY };
    expect(await stub.info(v4.free)).toEqual({
      ok: true,
      value: {
        isBlocked: false,
        expiresAt: iso(now - 10_000 + KEY_TTL_MS),
        blockedAt: null,
        releaseAt: null,
        source: "generated",
        label: "spare",
        hint: null,
        ...untouched,
      },
    });
    expect(await stub.info(v4.imported)).toMatchObject({
      ok: true,
      value: { source: "imported", label: "team-a", hint: v4.values[v4.imported]?.slice(-4), ...untouched },
    });
    expect(await stub.info(v4.held)).toMatchObject({
      ok: true,
      value: { isBlocked: true, state: "blocked", releaseAt: iso(now + 50_000), label: "team-b" },
    });
    expect(await stub.info(v4.overdue)).toMatchObject({ ok: true, value: { isBlocked: false, state: "free" } });
    expect(await stub.info(v4.expired)).toEqual({ ok: false, refusal: "not_found" });

    expect(await stub.poolStats()).toMatchObject({
      ok: true,
      value: {
        keys: { total: 4, free: 3, blocked: 1, cooling: 0, disabled: 0 },
        // The overdue release and the expiry counted once; the new counters start at zero.
        counters: {
          created: 7,
          deleted: 2,
          assigned: 6,
          released: 1,
          expired: 1,
          cooled: 0,
          disabled: 0,
          reportedOk: 0,
          reportedRateLimited: 0,
          reportedUnauthorized: 0,
          reportedError: 0,
        },
        settings: {
          revealValues: "holder",
          keysExpire: true,
          cooldownSeconds: 60,
          maxFailures: 3,
          lockDelaySeconds: 0,
        },
        encryption: { toReseal: 0, unavailable: 0 },
      },
    });

    // The holder's secret still proves its block and reads its imported value; the stored answer
    // replays; a value the pool holds is still found when imported again.
    const holder = { admin: false, holder: v4.holderDigest };
    expect(await stub.reveal(v4.held, holder)).toEqual({
      ok: true,
      value: { keyId: v4.held, key: v4.values[v4.held] },
    });
    expect(await stub.assign({ idempotency: v4.replay })).toMatchObject({
      ok: true,
      value: { keyId: v4.held, key: v4.values[v4.held], lease: 21 },
    });
    expect(await stub.importKeys([{ key: v4.values[v4.imported] as string }])).toMatchObject({
      ok: false,
      refusal: "duplicate_values",
    });
    // Leases go on above every one handed out before; the new states work on the old keys.
    const next = await stub.setBlocked(v4.free, true, ADMIN);
    expect(next).toMatchObject({ ok: true, value: { lease: 22 } });
    expect(await stub.report(v4.imported, ADMIN, { outcome: "rate_limited", retryAfterMs: 5_000 })).toMatchObject({
      ok: true,
      value: { state: "cooling", coolingUntil: iso(now + 5_000) },
    });
    expect(await stub.setDisabled(v4.overdue, true)).toMatchObject({ ok: true, value: { state: "disabled" } });
    checkStorage(await snapshot(stub));
  });
});

describe("a pool written by storage version 5", () => {
  it("keeps every key in every state, with its health, counters and settings; its audit trail starts then", async () => {
    const clock = useFakeClock();
    const stub = freshPool();
    await stub.updateSettings({ cooldownSeconds: 30, maxFailures: 4, lockDelaySeconds: 2 });
    const [free, held, cooling, disabled, failing, overdue] = await addKeys(stub, 6);
    const holder = crypto.getRandomValues(new Uint8Array(32));
    expect(await stub.setBlocked(held as string, true, ADMIN, holder)).toMatchObject({ ok: true });
    await stub.report(cooling as string, ADMIN, { outcome: "rate_limited", retryAfterMs: 20_000 });
    await stub.setDisabled(disabled as string, true);
    await stub.report(failing as string, ADMIN, { outcome: "error" });
    await stub.report(failing as string, ADMIN, { outcome: "error" });
    await stub.setBlocked(overdue as string, true, ADMIN);
    const keys = [free, held, cooling, disabled, failing, overdue] as string[];
    clock.advance(1_000);
    const before = await Promise.all(keys.map((id) => stub.info(id)));
    const stats = await stub.poolStats();
    await rewriteAsV5(stub);
    await evictDurableObject(stub);

    expect(await schemaVersion(stub)).toBe(SCHEMA_VERSION);
    expect(await Promise.all(keys.map((id) => stub.info(id)))).toEqual(before);
    const { settings, ...rest } = (stats as { ok: true; value: { settings: object } }).value;
    expect(await stub.poolStats()).toEqual({
      ok: true,
      value: { ...rest, settings: { ...settings, auditRetentionDays: 30 } },
    });
    expect(before.map((info) => (info.ok ? info.value.state : null))).toEqual([
      "free",
      "blocked",
      "cooling",
      "disabled",
      "free",
      "blocked",
    ]);

    // The trail starts empty, and records from here on; the holder's secret, the cooldown, the
    // failures and the lock-delay work as before.
    expect(await stub.audit({ limit: 10 })).toEqual({ ok: true, value: { entries: [], more: false } });
    expect(await stub.setBlocked(held as string, false, { admin: false, holder })).toMatchObject({ ok: true });
    expect(await stub.report(failing as string, ADMIN, { outcome: "error" })).toMatchObject({
      ok: true,
      value: { failures: 3 },
    });
    const releaseAt = Date.parse((before[5] as { ok: true; value: { releaseAt: string } }).value.releaseAt);
    clock.set(releaseAt);
    expect(await stub.info(overdue as string)).toMatchObject({
      ok: true,
      value: { state: "cooling", coolingUntil: iso(releaseAt + 2_000) },
    });
    const trail = await stub.audit({ limit: 10 });
    expect(trail.ok && trail.value.entries.map((entry) => [entry.event, entry.seq])).toEqual([
      ["reported", 2],
      ["unblocked", 1],
    ]);
    checkStorage(await snapshot(stub));
  });
});

function storedAnswer(stub: DurableObjectStub<KeyPool>): Promise<string> {
  return runInDurableObject(
    stub,
    (_instance, state) => state.storage.sql.exec<{ outcome: string }>("SELECT outcome FROM idempotency").one().outcome,
  );
}

function sealedWith(stub: DurableObjectStub<KeyPool>): Promise<string | null> {
  return runInDurableObject(stub, (instance: KeyPool) => internalsOf(instance).meta.sealedWith());
}

function uuidBytes(uuid: string): Uint8Array {
  return new Uint8Array(uuidToBytes(uuid));
}

describe("a database newer than this code", () => {
  it("is refused: every call fails naming both versions, and nothing in it changes", async () => {
    useFakeClock();
    const stub = freshPool();
    const [keyId] = await addKeys(stub, 2);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE pool_meta SET schema_version = ? WHERE id = 1", SCHEMA_VERSION + 1);
    });
    const before = await snapshot(stub);
    await evictDurableObject(stub);

    const message = `schema version ${SCHEMA_VERSION + 1}, newer than this code's version ${SCHEMA_VERSION}`;
    await runInDurableObject(stub, async (pool) => {
      await expect(pool.create(1)).rejects.toThrow(message);
      await expect(pool.assign()).rejects.toThrow(message);
      expect(() => pool.info(keyId as string)).toThrow(message);
      expect(() => pool.setBlocked(keyId as string, true, ADMIN)).toThrow(message);
      expect(() => pool.poolStats()).toThrow(message);
      await expect(pool.alarm()).rejects.toThrow(message);
    });
    expect(await snapshot(stub)).toEqual({ ...before, armedAt: null });
  });
});
