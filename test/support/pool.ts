import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { KeyPool } from "../../src/key-pool";
import type { KeyStore } from "../../src/storage/key-store";

/** A stub for a pool of its own (storage is shared by every test in a file). */
export function freshPool(): DurableObjectStub<KeyPool> {
  return env.KEY_POOL.getByName(`t-${crypto.randomUUID()}`);
}

/** The object's store, to count rows and look at storage directly. */
export function storeOf(instance: KeyPool): KeyStore {
  return (instance as unknown as { store: KeyStore }).store;
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

/** Everything the pool stores, to show that a refused request changed nothing. */
export function poolSnapshot(stub: DurableObjectStub<KeyPool>): Promise<unknown> {
  return runInDurableObject(stub, (_instance, state) => ({
    meta: state.storage.sql.exec("SELECT * FROM pool_meta").toArray(),
    keys: state.storage.sql
      .exec(
        "SELECT hex(id) AS id, hex(secret) AS secret, created_at, last_activity, expires_at, blocked_at, release_at, lease, free_slot FROM keys ORDER BY id",
      )
      .toArray(),
  }));
}
