import { describe, expect, it } from "vitest";
import { KeyPoolError } from "../../packages/client/src/index.js";
import { adminClient, testClient } from "../support/client";
import { ADMIN_TOKEN, uniquePool } from "../support/http";

/** The KeyPoolError a call fails with; a call that succeeds fails the test. */
async function failure(call: Promise<unknown>): Promise<KeyPoolError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof KeyPoolError)) throw new Error(`expected a KeyPoolError, got ${String(error)}`);
  return error;
}

/** A value as an upstream would issue it, different in every call. */
function providerKey(): string {
  return `sk-live-${crypto.randomUUID().replaceAll("-", "")}`;
}

describe("imported keys", () => {
  it("acquire hands out an imported value as lease.key", async () => {
    const pool = uniquePool();
    const value = providerKey();
    const { keyIds } = await adminClient({ pool }).importKeys([{ key: value }]);
    const lease = await testClient({ pool }).acquire({ keepAlive: false });
    expect(lease.keyId).toBe(keyIds[0]);
    expect(lease.key).toBe(value);
    expect(await lease.release()).toBe(true);
  });

  it("answers the ids in the order given, each key with its label and the end of its value as hint", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    const values = [providerKey(), providerKey(), providerKey()];
    const { keyIds } = await admin.importKeys([
      { key: values[0] as string, label: "first" },
      { key: values[1] as string },
      { key: values[2] as string, label: "third" },
    ]);
    expect(keyIds).toHaveLength(3);
    const infos = await Promise.all(keyIds.map((keyId) => admin.info(keyId)));
    expect(infos.map(({ source, label, hint }) => ({ source, label, hint }))).toEqual([
      { source: "imported", label: "first", hint: values[0]?.slice(-4) },
      { source: "imported", label: null, hint: values[1]?.slice(-4) },
      { source: "imported", label: "third", hint: values[2]?.slice(-4) },
    ]);
    // Each id holds the value given at its place in the list.
    const client = testClient({ pool });
    const held = await Promise.all(keyIds.map(() => client.assign()));
    const handedOut = new Map(held.map((assignment) => [assignment.keyId, assignment.key]));
    expect(keyIds.map((keyId) => handedOut.get(keyId))).toEqual(values);
  });

  it("rejects a duplicate value with a 409 KeyPoolError whose details name it, and imports nothing", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    const taken = providerKey();
    const twice = providerKey();
    const {
      keyIds: [existing],
    } = await admin.importKeys([{ key: taken }]);
    const error = await failure(
      admin.importKeys([{ key: providerKey() }, { key: taken }, { key: twice }, { key: twice }]),
    );
    expect(error).toMatchObject({
      status: 409,
      attempts: 1,
      details: [
        { path: "body.keys.1.key", message: expect.any(String), keyId: existing },
        { path: "body.keys.3.key", message: expect.stringContaining("body.keys.2.key") },
      ],
    });
    expect((await admin.poolStats()).keys.total).toBe(1);
  });

  it("a repeat with the same idempotency key answers the same ids instead of a 409", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    const entries = [{ key: providerKey() }, { key: providerKey() }];
    const idempotencyKey = crypto.randomUUID();
    const first = await admin.importKeys(entries, { idempotencyKey });
    expect(await admin.importKeys(entries, { idempotencyKey })).toEqual(first);
    expect((await admin.poolStats()).keys.total).toBe(2);
  });

  it("sends only each entry's key and label", async () => {
    const pool = uniquePool();
    const entry = { key: providerKey(), label: "kept", note: "the caller's own field" };
    const { keyIds } = await adminClient({ pool }).importKeys([entry]);
    expect(await adminClient({ pool }).info(keyIds[0] as string)).toMatchObject({ label: "kept" });
  });

  it("shows an imported value only to the holder of its block, admins included", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    const client = testClient({ pool });
    const value = providerKey();
    const {
      keyIds: [keyId = ""],
    } = await admin.importKeys([{ key: value }]);
    await expect(admin.getKey(keyId)).rejects.toMatchObject({ status: 403 });
    await expect(client.getKey(keyId)).rejects.toMatchObject({ status: 403 });
    const assigned = await client.assign();
    expect(await client.getKey(keyId, { leaseToken: assigned.leaseToken })).toEqual({ keyId, key: value });
  });

  it("the client role may not import (403)", async () => {
    await expect(testClient({ pool: uniquePool() }).importKeys([{ key: providerKey() }])).rejects.toMatchObject({
      status: 403,
    });
  });
});

describe("labels", () => {
  it("setLabel sets a key's label, shown by info and the listing, and null removes it", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    const { keyId } = await admin.createKey();
    expect(await admin.setLabel(keyId, "openai-prod-3")).toMatchObject({ label: "openai-prod-3" });
    expect(await testClient({ pool }).info(keyId)).toMatchObject({ source: "generated", label: "openai-prod-3" });
    expect((await admin.listKeys()).keys).toEqual([expect.objectContaining({ keyId, label: "openai-prod-3" })]);
    expect(await admin.setLabel(keyId, null)).toMatchObject({ label: null });
    expect(await admin.info(keyId)).toMatchObject({ label: null });
  });

  it("setLabel is for admins (403), and a label with control characters is a 400 naming body.label", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    const { keyId } = await admin.createKey();
    await expect(testClient({ pool }).setLabel(keyId, "mine")).rejects.toMatchObject({ status: 403 });
    await expect(admin.setLabel(keyId, "two\nlines")).rejects.toMatchObject({
      status: 400,
      details: [expect.objectContaining({ path: "body.label" })],
    });
    expect(await admin.info(keyId)).toMatchObject({ label: null });
  });

  it("createKey and createKeys give every key they create the label", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    const { keyId } = await admin.createKey({ label: "single" });
    const { keyIds } = await admin.createKeys(2, { label: "batch" });
    expect(await admin.info(keyId)).toMatchObject({ label: "single" });
    for (const id of keyIds) expect(await admin.info(id)).toMatchObject({ source: "generated", label: "batch" });
  });
});

describe("secrets the client handles", () => {
  it("a lease shows its value through `key` only: not when logged or serialized", async () => {
    const pool = uniquePool();
    const value = providerKey();
    await adminClient({ pool }).importKeys([{ key: value }]);
    const lease = await testClient({ pool }).acquire({ keepAlive: false });
    expect(lease.key).toBe(value);
    expect(JSON.stringify(lease)).not.toContain(value);
    expect(Object.values(lease)).not.toContain(value);
    await lease.release();
  });

  it("an import's errors carry no value and no token", async () => {
    const pool = uniquePool();
    const admin = adminClient({ pool });
    const taken = providerKey();
    await admin.importKeys([{ key: taken }]);
    const bad = `${providerKey()}\u0000`;
    const errors = await Promise.all([
      failure(admin.importKeys([{ key: taken }])),
      failure(admin.importKeys([{ key: bad }])),
      failure(admin.importKeys([{ key: providerKey(), label: "\u0007" }])),
    ]);
    expect(errors.map((error) => error.status)).toEqual([409, 400, 400]);
    for (const error of errors) {
      const shown = `${error.message} ${String(error)} ${JSON.stringify(error)} ${JSON.stringify(error.details)}`;
      for (const secret of [taken, bad, ADMIN_TOKEN]) expect(shown).not.toContain(secret);
    }
  });
});
