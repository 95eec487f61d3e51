import { runInDurableObject } from "cloudflare:test";
import { DurableObject } from "cloudflare:workers";
import { expect, it } from "vitest";
import { KeyPool } from "../../src/key-pool";
import { freshPool } from "../support/pool";

/** The operations a stub may call: the API, and the alarm the runtime delivers. Nothing else. */
const PUBLIC_OPERATIONS = [
  "alarm",
  "assign",
  "audit",
  "create",
  "importKeys",
  "info",
  "keepAlive",
  "listKeys",
  "poolStats",
  "relabel",
  "remove",
  "report",
  "retire",
  "reveal",
  "setBlocked",
  "setDisabled",
  "updateSettings",
];

/**
 * Every name a stub can reach on an object: RPC serves what the class's prototype chain defines below
 * DurableObject; the instance's own fields (`ctx`, `env`) are not served (checked below).
 */
function callableNames(instance: object): string[] {
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(instance);
    proto !== DurableObject.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== "constructor") names.add(name);
  }
  return [...names].sort();
}

it("exposes exactly the public operations over RPC", async () => {
  const stub = freshPool();
  const names = await runInDurableObject(stub, (instance: KeyPool) => callableNames(instance));
  expect(names).toEqual(PUBLIC_OPERATIONS);
});

it("serves neither the test seam nor the object's own fields", async () => {
  const stub = freshPool();
  const untyped = stub as unknown as Record<string, (() => Promise<unknown>) & PromiseLike<unknown>>;
  // `internals` is static: a stub has no such method.
  expect(typeof KeyPool.internals).toBe("function");
  await expect(Promise.resolve().then(() => untyped.internals?.())).rejects.toThrow(/does not implement "internals"/);
  for (const field of ["ctx", "env"]) {
    await expect(Promise.resolve().then(() => untyped[field])).rejects.toThrow(/does not (implement|have)/);
  }
});
