import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { KeyPool, type PoolInternals } from "../../src/key-pool";
import { MAX_BULK_CREATE } from "../../src/pool/limits";
import type { Claim } from "../../src/pool/rules";
import { uniquePool } from "./http";

/**
 * A stub for a pool of its own (storage is shared by every test in a file). The pool does not exist
 * until something makes it (creating keys, or `madePool`).
 */
export function freshPool(): DurableObjectStub<KeyPool> {
  return env.KEY_POOL.getByName(uniquePool());
}

/** A pool of its own that exists, with no key in it yet (settings left as they are). */
export async function madePool(): Promise<DurableObjectStub<KeyPool>> {
  const stub = freshPool();
  await stub.updateSettings({});
  return stub;
}

/**
 * A pool of its own that exists and keeps no audit trail (`auditRetentionDays: 0`), for a test of the
 * alarm's other work: nothing but the keys' own deadlines arms it.
 */
export async function poolWithoutTrail(): Promise<DurableObjectStub<KeyPool>> {
  const stub = freshPool();
  await stub.updateSettings({ auditRetentionDays: 0 });
  return stub;
}

/** Creates `count` keys, in as many calls as the bulk limit needs, and returns their ids in order. */
export async function addKeys(stub: DurableObjectStub<KeyPool>, count: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const outcome = await stub.create(Math.min(MAX_BULK_CREATE, count - ids.length));
    if (!outcome.ok) throw new Error(`create refused: ${outcome.refusal}`);
    ids.push(...outcome.value);
  }
  return ids;
}

/** The parts of the object, for a test running inside it. */
export function internalsOf(instance: KeyPool): PoolInternals {
  return KeyPool.internals(instance);
}

/** The alarm time the object has armed in storage, or null. */
export function armedAlarm(stub: DurableObjectStub<KeyPool>): Promise<number | null> {
  return runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
}

/** How many keys are stored (expired ones the alarm has not removed yet included). */
export function storedKeyCount(stub: DurableObjectStub<KeyPool>): Promise<number> {
  return runInDurableObject(
    stub,
    (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM keys").one().n,
  );
}

/**
 * Has the object build what it keeps in memory about its keys (one scan of them, as its first
 * assignment after a start does), so that a cost measured next is the operation's own.
 */
export function warmUpObject(stub: DurableObjectStub<KeyPool>): Promise<void> {
  return runInDurableObject(stub, (instance) => {
    internalsOf(instance).keys.freeCount();
  });
}

/** What an admin presents when it acts on a key without a holder's secret. */
export const ADMIN: Claim = { admin: true };

/** An admin acting on a key with its lease as a fencing check. */
export const adminWithLease = (lease: number): Claim => ({ admin: true, lease });
