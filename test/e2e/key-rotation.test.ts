import { afterAll, expect, it } from "vitest";
import { api, removeDir, TOKEN_VARS, tempDir } from "./client";
import {
  apiKeyValue,
  encryptionOf,
  fingerprintOf,
  jwtValue,
  newEncryptionKey,
  randomText,
  readEveryValue,
  serviceAccountValue,
  shortValue,
  waitUntilSealedUnder,
} from "./encryption-keys";
import { type DevServer, startDevServer } from "./server";

// This file's port range; encryption.test.ts has 9850-9899.
const PORTS: [number, number] = [9900, 9949];
const POOL = "rotation";

const dir = tempDir();
let server: DevServer | undefined;
afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

/** A server on this test's state with KEY_ENCRYPTION_KEY `keys`, the one before it stopped. */
async function restartWith(...keys: string[]): Promise<DevServer> {
  await server?.stop();
  // Keys outlive the test however slowly the machine starts servers.
  server = await startDevServer(
    PORTS,
    { ...TOKEN_VARS, KEY_TTL_SECONDS: "3600", KEY_ENCRYPTION_KEY: keys.join(",") },
    dir,
  );
  return server;
}

it("rotates the encryption key over restarts: values are sealed anew, and a removed key's values wait for it", async () => {
  const [k1, k2] = [newEncryptionKey(), newEncryptionKey()];
  const values = [
    apiKeyValue(),
    apiKeyValue(),
    serviceAccountValue(),
    jwtValue(),
    shortValue(),
    `ghp_${randomText(36)}`,
  ];
  const total = values.length + 4;

  // (a) K1 seals imported and generated values alike.
  let { origin } = await restartWith(k1);
  const imported = await api(origin, "POST", `/pools/${POOL}/keys`, { json: { keys: values.map((key) => ({ key })) } });
  expect(imported.status, JSON.stringify(imported.body)).toBe(201);
  const generated = await api(origin, "POST", `/pools/${POOL}/keys`, { json: { count: 4 } });
  expect(generated.status).toBe(201);
  const importedIds: string[] = imported.body.keyIds;
  const generatedIds: string[] = generated.body.keyIds;
  const before = await readEveryValue(origin, POOL, total);
  expect(importedIds.map((id) => before.get(id))).toEqual(values);
  for (const id of generatedIds) {
    // Anyone may read a free generated key's value.
    expect(await api(origin, "GET", `/pools/${POOL}/keys/${id}`)).toEqual({
      status: 200,
      body: { keyId: id, key: before.get(id) },
    });
  }
  expect(await encryptionOf(origin, POOL)).toEqual({
    sealingKey: fingerprintOf(k1),
    localDevelopmentKey: false,
    values: [{ sealedBy: fingerprintOf(k1), values: total, available: true }],
    toReseal: 0,
    unavailable: 0,
  });

  // (b) K2 added in front: the alarm seals every value anew under it, and they read the same.
  ({ origin } = await restartWith(k2, k1));
  await waitUntilSealedUnder(origin, POOL, fingerprintOf(k2), total);
  expect(await readEveryValue(origin, POOL, total)).toEqual(before);

  // (c) K1 removed: nothing needs it any more. An imported value is still known (its keyed
  // fingerprint was made anew under K2), so it cannot be imported twice.
  ({ origin } = await restartWith(k2));
  expect(await encryptionOf(origin, POOL)).toMatchObject({
    values: [{ sealedBy: fingerprintOf(k2), available: true }],
  });
  expect(await readEveryValue(origin, POOL, total)).toEqual(before);
  const twice = await api(origin, "POST", `/pools/${POOL}/keys`, { json: { keys: [{ key: values[2] }] } });
  expect(twice.status).toBe(409);
  expect(twice.body.details).toEqual([expect.objectContaining({ path: "body.keys.0.key", keyId: importedIds[2] })]);

  // (d) Only K1 (K2 lost): every value waits for K2, named by its fingerprint; nothing is deleted,
  // and a refused assignment blocks nothing.
  ({ origin } = await restartWith(k1));
  const missing = fingerprintOf(k2);
  for (let i = 0; i < 3; i++) {
    const drawn = await api(origin, "GET", `/pools/${POOL}/keys`);
    expect(drawn.status, JSON.stringify(drawn.body)).toBe(503);
    expect(drawn.body.error).toContain(missing);
  }
  const generatedValue = await api(origin, "GET", `/pools/${POOL}/keys/${generatedIds[0]}`);
  expect(generatedValue.status).toBe(503);
  expect(generatedValue.body.error).toContain(missing);
  const stats = await api(origin, "GET", `/pools/${POOL}`);
  expect(stats.body.keys).toEqual({ total, free: total, blocked: 0, cooling: 0, disabled: 0 });
  expect(stats.body.encryption).toEqual({
    sealingKey: fingerprintOf(k1),
    localDevelopmentKey: false,
    values: [{ sealedBy: missing, values: total, available: false }],
    toReseal: 0,
    unavailable: total,
  });

  // (e) K2 back: every value is there again.
  ({ origin } = await restartWith(k2));
  expect(await readEveryValue(origin, POOL, total)).toEqual(before);
  await waitUntilSealedUnder(origin, POOL, missing, total);
}, 240_000); // five server starts on one state
