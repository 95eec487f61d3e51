import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ALARM_BATCH, KeyPool } from "../../src/key-pool";
import { NO_EXPIRY } from "../../src/storage/key-rows";
import { type FakeClock, useFakeClock } from "../support/clock";
import { costOf } from "../support/cost";
import { snapshot } from "../support/durable-pool";
import { call, uniquePool } from "../support/http";
import { expectError, expectOk } from "../support/keys";
import { BLOCK_TTL_MS, iso, KEY_TTL_MS } from "../support/timings";

/** A pool of `count` generated keys, made at the fake clock's now. */
async function poolOf(count: number) {
  const pool = uniquePool();
  const base = `/pools/${pool}/keys`;
  const ids: string[] = expectOk(await call("POST", base, { json: { count } }), 201).keyIds;
  return { pool, base, ids, stub: env.KEY_POOL.getByName(pool) };
}

function keysExpire(pool: string, value: boolean | null) {
  return call("PUT", `/pools/${pool}/settings`, { json: { keysExpire: value } });
}

/**
 * Runs the alarm while it is armed for now (a batch that leaves more re-arms for now); counts the runs.
 * The platform stores an alarm set in its past at its own now, a little after the fake clock's: "now"
 * is anything within a second of the fake clock, far from every deadline these tests set.
 */
async function runAlarms(stub: DurableObjectStub<KeyPool>, clock: FakeClock): Promise<number> {
  let runs = 0;
  for (let alarm = (await snapshot(stub)).alarm; alarm !== null && alarm <= clock.nowMs + 1_000; runs++) {
    if (runs === 50 || !(await runDurableObjectAlarm(stub))) throw new Error(`alarm at ${alarm} did not settle`);
    alarm = (await snapshot(stub)).alarm;
  }
  return runs;
}

describe("a pool whose keys do not expire (keysExpire: false)", () => {
  it("shows no expiry on any key at once, and keeps its keys however long nobody keeps them alive", async () => {
    const clock = useFakeClock();
    const { pool, base, ids, stub } = await poolOf(3);
    expect(expectOk(await keysExpire(pool, false))).toMatchObject({ keysExpire: false });
    for (const id of ids) expect(expectOk(await call("GET", `${base}/${id}/info`)).expiresAt).toBeNull();

    clock.advance(10 * KEY_TTL_MS);
    await runDurableObjectAlarm(stub);
    for (const id of ids) expectOk(await call("GET", `${base}/${id}/info`));
    expect((await snapshot(stub)).rows.map((row) => row.expires_at)).toEqual([NO_EXPIRY, NO_EXPIRY, NO_EXPIRY]);
    expect(expectOk(await call("GET", `/pools/${pool}`)).keys.total).toBe(3);
  });

  it("still records activity on keep-alive, and makes new keys without an expiry", async () => {
    const clock = useFakeClock();
    const { pool, base, ids } = await poolOf(1);
    expectOk(await keysExpire(pool, false));
    clock.advance(1_000);
    expect(expectOk(await call("PUT", `${base}/${ids[0]}/alive`))).toMatchObject({
      lastActivity: iso(clock.nowMs),
      expiresAt: null,
    });
    const keyId = expectOk(await call("POST", base), 201).keyId;
    expect(expectOk(await call("GET", `${base}/${keyId}/info`)).expiresAt).toBeNull();
  });

  it("still releases a block when it runs out", async () => {
    const clock = useFakeClock();
    const { pool, base, stub } = await poolOf(1);
    expectOk(await keysExpire(pool, false));
    const held = expectOk(await call("GET", base));
    clock.advance(BLOCK_TTL_MS);
    await runDurableObjectAlarm(stub);
    expect(expectOk(await call("GET", `${base}/${held.keyId}/info`))).toMatchObject({
      isBlocked: false,
      expiresAt: null,
    });
  });

  it("switched back on, gives every key an expiry one key TTL after the switch, exact to the millisecond", async () => {
    const clock = useFakeClock();
    const { pool, base, ids, stub } = await poolOf(2);
    expectOk(await keysExpire(pool, false));
    await runAlarms(stub, clock);
    clock.advance(60_000);
    const switchedAt = clock.nowMs;
    expect(expectOk(await keysExpire(pool, null))).toMatchObject({ keysExpire: true });
    // At once, before the alarm has written anything...
    expect(expectOk(await call("GET", `${base}/${ids[0]}/info`)).expiresAt).toBe(iso(switchedAt + KEY_TTL_MS));
    clock.advance(1_000);
    await runAlarms(stub, clock);
    // ...and as stored once it has, even though it ran later.
    expect((await snapshot(stub)).rows.map((row) => row.expires_at)).toEqual([
      switchedAt + KEY_TTL_MS,
      switchedAt + KEY_TTL_MS,
    ]);
    clock.set(switchedAt + KEY_TTL_MS - 1);
    expectOk(await call("GET", `${base}/${ids[1]}/info`));
    clock.set(switchedAt + KEY_TTL_MS);
    expectError(await call("GET", `${base}/${ids[1]}/info`), 404);
  });

  it("switches a pool larger than one alarm batch a batch at a time, the request itself writing one row", async () => {
    const clock = useFakeClock();
    const { pool, stub } = await poolOf(ALARM_BATCH * 2 + 10);
    const cost = await costOf(stub, (instance) => instance.updateSettings({ keysExpire: false }));
    expect(cost.written).toBeLessThanOrEqual(2);
    const written = await runInDurableObject(stub, (instance: KeyPool) => KeyPool.internals(instance).db.rowsWritten);
    expect(await runAlarms(stub, clock)).toBe(3);
    // Each key's row and its new expiry-index entry; nothing else.
    const after = await runInDurableObject(stub, (instance: KeyPool) => KeyPool.internals(instance).db.rowsWritten);
    expect(after - written).toBe(2 * (ALARM_BATCH * 2 + 10));
    expect(new Set((await snapshot(stub)).rows.map((row) => row.expires_at))).toEqual(new Set([NO_EXPIRY]));
    expect(expectOk(await call("GET", `/pools/${pool}`)).settings.keysExpire).toBe(false);
  });
});
