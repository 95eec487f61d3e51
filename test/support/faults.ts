import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { KeyPool } from "../../src/key-pool";
import { SCHEMA_VERSION } from "../../src/storage/migrations";
import { call } from "./http";
import { expectError, expectOk } from "./keys";
import { internalsOf } from "./pool";

/** The error an injected storage failure throws, so a test can tell it from a real one. */
export class InjectedFailure extends Error {
  override readonly name = "InjectedFailure";
}

/**
 * The store calls an alarm makes, in order: the batch's expiries and then its releases (one call
 * each) inside its transaction, then the earliest-deadline read after the batch has committed.
 * `delete` and `save` are here for the per-key paths an alarm may share with requests. Failing the
 * n-th of them is a storage error at that exact point, which reaches the object as an exception out
 * of the store, as a SQLite error would.
 */
const FAILABLE = ["deleteExpired", "releaseDue", "delete", "save", "earliestDeadline"] as const;

/**
 * Runs the pool's alarm handler with storage failing at its `failAt`-th store call (1-based), then
 * puts the store back. Answers whether the failure was hit (a short batch may finish first). The
 * seam is the object's own KeyStore instance (`KeyPool.internals`), spied on from inside the object
 * for this one call.
 */
export function alarmWithFailingStorage(stub: DurableObjectStub<KeyPool>, failAt: number): Promise<boolean> {
  return runInDurableObject(stub, async (instance: KeyPool) => {
    const { keys } = internalsOf(instance);
    let calls = 0;
    // Spies on this instance's store for this one call; the method names are checked by the compiler.
    const spies = FAILABLE.map((method) => {
      const original = keys[method].bind(keys) as (...args: unknown[]) => unknown;
      return vi.spyOn(keys, method).mockImplementation(((...args: unknown[]) => {
        if (++calls === failAt) throw new InjectedFailure(`injected failure at store call ${failAt} (${method})`);
        return original(...args);
      }) as never);
    });
    try {
      await instance.alarm();
      return false;
    } catch (error) {
      if (error instanceof InjectedFailure) return true;
      throw error;
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
}

/** The platform's retry of a failed alarm: the handler runs again, whatever the alarm in storage says. */
export function retryAlarm(stub: DurableObjectStub<KeyPool>): Promise<void> {
  return runInDurableObject(stub, (instance: KeyPool) => instance.alarm());
}

/** Makes a pool whose object fails every call: its database says it is newer than this code. */
export async function brokenPool(pool: string): Promise<void> {
  expectOk(await call("POST", `/pools/${pool}/keys`), 201);
  const stub = env.KEY_POOL.getByName(pool);
  await runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec("UPDATE pool_meta SET schema_version = ? WHERE id = 1", SCHEMA_VERSION + 1);
  });
  await evictDurableObject(stub);
  expectError(await call("GET", `/pools/${pool}`), 500);
}
