import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configOf } from "../../src/config";
import { fingerprintOf } from "../../src/crypto/value-keys";
import { KeyPool } from "../../src/key-pool";
import { useFakeClock } from "../support/clock";
import { contains, snapshot } from "../support/durable-pool";
import { ADMIN, addKeys, freshPool } from "../support/pool";

/**
 * Values at rest, and the encryption keys they are sealed under. The test Worker's KEY_ENCRYPTION_KEY
 * holds two keys (vitest.config.ts): FIRST seals, SECOND only opens. A pool's object started with
 * another KEY_ENCRYPTION_KEY is what a deploy with a changed secret starts: `startedWith` makes one on
 * the same storage, as the platform would after a restart.
 */
const [FIRST, SECOND] = ((env as { KEY_ENCRYPTION_KEY?: string }).KEY_ENCRYPTION_KEY ?? "").split(",") as [
  string,
  string,
];
const THIRD = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

async function fingerprint(key: string): Promise<string> {
  return fingerprintOf(Uint8Array.from(atob(key), (char) => char.charCodeAt(0)));
}

/** The pool's object as it starts on this storage with KEY_ENCRYPTION_KEY set to `keys` (no key: undefined). */
async function startedWith(state: DurableObjectState, keys: string | undefined): Promise<KeyPool> {
  const pool = new KeyPool(state, { ...env, KEY_ENCRYPTION_KEY: keys } as Env);
  // Its start (migrations, keys, the alarm) runs under blockConcurrencyWhile; wait for it to finish.
  await state.blockConcurrencyWhile(async () => {});
  return pool;
}

/** Runs every alarm the object has armed until none is left (a sealing pass re-arms for its next batch). */
async function drainAlarms(pool: KeyPool, state: DurableObjectState): Promise<void> {
  for (let runs = 0; runs < 100; runs++) {
    const stats = pool.poolStats();
    if (stats.ok && stats.value.encryption.toReseal === 0) return;
    await pool.alarm();
  }
  throw new Error(`still sealing after 100 alarm runs: ${JSON.stringify(await state.storage.getAlarm())}`);
}

const providerKey = () => `sk-${crypto.randomUUID()}`;

describe("values at rest", () => {
  it("are sealed: no stored row holds a value, and each names the key that sealed it", async () => {
    useFakeClock();
    const stub = freshPool();
    const values = [providerKey(), providerKey()];
    expect(await stub.importKeys(values.map((key) => ({ key })))).toMatchObject({ ok: true });
    const generated = await addKeys(stub, 2);
    const shown = await Promise.all(generated.map((id) => stub.reveal(id)));
    const rows = (await snapshot(stub)).rows;
    expect(rows.map((row) => row.sealed_by)).toEqual(Array(4).fill(await fingerprint(FIRST)));
    const plain = [...values, ...shown.map((value) => (value.ok ? value.value.key : "missing"))];
    for (const row of rows) {
      for (const value of plain) expect(contains(row.secret, new TextEncoder().encode(value))).toBe(false);
    }
  });

  it("do not open when their ciphertext is copied to another row or another pool, and nothing else breaks", async () => {
    useFakeClock();
    const [one, other] = [freshPool(), freshPool()];
    const [a, b] = await addKeys(one, 2);
    const [c] = await addKeys(other, 1);
    const secretOf = (stub: DurableObjectStub<KeyPool>, id: string) =>
      snapshot(stub).then((s) => s.rows.find((row) => row.id === id)?.secret as Uint8Array);
    const copy = async (stub: DurableObjectStub<KeyPool>, id: string, secret: Uint8Array) => {
      await runInDurableObject(stub, (_instance, state) => {
        state.storage.sql.exec(
          "UPDATE keys SET secret = ? WHERE id = unhex(?)",
          secret.slice().buffer,
          id.replaceAll("-", ""),
        );
      });
    };
    await copy(one, b as string, await secretOf(one, a as string));
    await copy(other, c as string, await secretOf(one, a as string));
    expect(await one.reveal(b as string)).toEqual({ ok: false, refusal: "value_unreadable" });
    expect(await other.reveal(c as string)).toEqual({ ok: false, refusal: "value_unreadable" });
    expect(await one.reveal(a as string)).toMatchObject({ ok: true });
    expect(await one.info(b as string)).toMatchObject({ ok: true, value: { isBlocked: false } });
  });

  it("sealed under a key no longer configured answer a refusal naming it, and nothing is lost", async () => {
    useFakeClock();
    const stub = freshPool();
    const value = providerKey();
    const imported = await stub.importKeys([{ key: value }]);
    const [generated] = (await addKeys(stub, 1)) as [string];
    const shown = await stub.reveal(generated);
    const before = await snapshot(stub);
    const missing = { ok: false, refusal: "value_key_missing", about: await fingerprint(FIRST) };
    await runInDurableObject(stub, async (_instance, state) => {
      const pool = await startedWith(state, SECOND);
      expect(await pool.reveal(generated)).toEqual(missing);
      expect(await pool.assign()).toEqual(missing);
      expect(pool.poolStats()).toMatchObject({
        ok: true,
        value: { encryption: { sealingKey: await fingerprint(SECOND), toReseal: 0, unavailable: 2 } },
      });
      // It cannot seal what it cannot open: its alarm leaves every value as it is.
      await pool.alarm();
    });
    expect((await snapshot(stub)).rows).toEqual(before.rows);

    // With the key back, every value is there.
    await evictDurableObject(stub);
    expect(await stub.reveal(generated)).toEqual(shown);
    const handed = [await stub.assign(), await stub.assign()].map((a) => (a.ok ? [a.value.keyId, a.value.key] : []));
    expect(handed).toContainEqual([imported.ok && imported.value[0], value]);
  });

  it("sealed under a missing key are passed over by assignments while other keys can be handed out", async () => {
    useFakeClock();
    const stub = freshPool();
    const [lost] = (await addKeys(stub, 1)) as [string]; // sealed under FIRST
    await runInDurableObject(stub, async (_instance, state) => {
      // A deploy whose first key is SECOND (FIRST still opens): the new key is sealed under SECOND.
      const both = await startedWith(state, `${SECOND},${FIRST}`);
      expect(await both.create(1)).toMatchObject({ ok: true });
      // Then FIRST is gone: the key it sealed is never handed out, the other one always.
      const onlySecond = await startedWith(state, SECOND);
      for (let i = 0; i < 20; i++) {
        const assigned = await onlySecond.assign();
        if (!assigned.ok) throw new Error(`refused: ${assigned.refusal}`);
        expect(assigned.value.keyId).not.toBe(lost);
        expect(await onlySecond.setBlocked(assigned.value.keyId, false, ADMIN)).toMatchObject({ ok: true });
      }
    });
  });

  it("are sealed anew under a new first key by the alarm, then open without the old key", async () => {
    useFakeClock();
    const stub = freshPool();
    const values = [providerKey(), providerKey(), providerKey()];
    const imported = await stub.importKeys(values.map((key) => ({ key })));
    if (!imported.ok) throw new Error("import refused");
    const generated = await addKeys(stub, 300); // more than one alarm batch
    const shown = new Map<string, string>();
    for (const id of generated.slice(0, 5)) {
      const revealed = await stub.reveal(id);
      if (revealed.ok) shown.set(id, revealed.value.key);
    }
    const third = await fingerprint(THIRD);

    await runInDurableObject(stub, async (_instance, state) => {
      const rotating = await startedWith(state, `${THIRD},${FIRST}`);
      expect(await state.storage.getAlarm()).not.toBeNull();
      expect(rotating.poolStats()).toMatchObject({
        ok: true,
        value: { encryption: { sealingKey: third, toReseal: 303 } },
      });
      // Values still sealed under the old key are found as duplicates meanwhile.
      expect(await rotating.importKeys([{ key: values[0] as string }])).toMatchObject({
        ok: false,
        refusal: "duplicate_values",
      });
      const { db } = KeyPool.internals(rotating);
      const written = db.rowsWritten;
      await drainAlarms(rotating, state);
      // One row per value sealed anew, and at the end of the pass the pool_meta row that records it.
      expect(db.rowsWritten - written).toBe(303 + 1);
      expect(rotating.poolStats()).toMatchObject({
        ok: true,
        value: { encryption: { toReseal: 0, values: [{ sealedBy: third, values: 303, available: true }] } },
      });
    });
    expect(new Set((await snapshot(stub)).rows.map((row) => row.sealed_by))).toEqual(new Set([third]));

    await runInDurableObject(stub, async (_instance, state) => {
      const rotated = await startedWith(state, THIRD);
      for (const [id, key] of shown) expect(await rotated.reveal(id)).toEqual({ ok: true, value: { keyId: id, key } });
      // Imported values keep their fingerprints' promise under the new key: a second import is refused.
      expect(await rotated.importKeys([{ key: values[1] as string }])).toMatchObject({ refusal: "duplicate_values" });
      const handed: string[] = [];
      for (let i = 0; i < 303; i++) {
        const assigned = await rotated.assign();
        if (assigned.ok && imported.value.includes(assigned.value.keyId)) handed.push(assigned.value.key);
      }
      expect(handed.sort()).toEqual([...values].sort());
    });
  });

  it("stored as they are before a key was configured are sealed once one is, on the next start", async () => {
    useFakeClock();
    const stub = freshPool();
    await addKeys(stub, 1);
    await runInDurableObject(stub, async (_instance, state) => {
      const unkeyed = await startedWith(state, undefined);
      expect(await unkeyed.create(2)).toMatchObject({ ok: true });
      expect(await unkeyed.importKeys([{ key: providerKey() }])).toEqual({ ok: false, refusal: "no_encryption_key" });
    });
    expect((await snapshot(stub)).rows.map((row) => row.sealed_by).filter((by) => by === null)).toHaveLength(2);
    await evictDurableObject(stub);
    await runInDurableObject(stub, async (instance: KeyPool, state) => {
      await drainAlarms(instance, state);
    });
    const sealing = (await configOf(env).valueKeys).sealing?.fingerprint;
    expect((await snapshot(stub)).rows.map((row) => row.sealed_by)).toEqual([sealing, sealing, sealing]);
    expect(await stub.setBlocked((await snapshot(stub)).rows[0]?.id as string, true, ADMIN)).toMatchObject({
      ok: true,
    });
  });
});
