import { createHash, randomBytes, randomInt } from "node:crypto";
import { expect } from "vitest";
import { api } from "./client";

/**
 * What the encryption end-to-end tests share: KEY_ENCRYPTION_KEY values made afresh for each run,
 * their fingerprints worked out the documented way, key values of the shapes people import, and
 * reading every value of a pool back as its holder does.
 */

/** A new KEY_ENCRYPTION_KEY entry, as `openssl rand -base64 32` makes one. */
export function newEncryptionKey(): string {
  return randomBytes(32).toString("base64");
}

/**
 * The fingerprint a pool reports for a key (docs/security.md): the first 8 hex digits of the SHA-256
 * of its 32 bytes (`printf %s "$KEY" | base64 -d | sha256sum | cut -c1-8`).
 */
export function fingerprintOf(base64Key: string): string {
  return createHash("sha256").update(Buffer.from(base64Key, "base64")).digest("hex").slice(0, 8);
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `length` random characters of `alphabet`. */
export function randomText(length: number, alphabet = ALNUM): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** An OpenAI-style API key: `sk-` and 48 characters, 51 in all. */
export function apiKeyValue(): string {
  return `sk-${randomText(48)}`;
}

/** A cloud service account's JSON credentials: several lines, with a PEM private key inside. */
export function serviceAccountValue(): string {
  const pem = Array.from({ length: 26 }, () => randomBytes(48).toString("base64")).join("\n");
  const project = `project-${randomText(8).toLowerCase()}`;
  const account = {
    type: "service_account",
    project_id: project,
    private_key_id: randomBytes(20).toString("hex"),
    private_key: `-----BEGIN PRIVATE KEY-----\n${pem}\n-----END PRIVATE KEY-----\n`,
    client_email: `keypool-${randomText(6).toLowerCase()}@${project}.iam.gserviceaccount.com`,
    client_id: randomText(21, "0123456789"),
    token_uri: "https://oauth2.googleapis.com/token",
  };
  return JSON.stringify(account, null, 2);
}

/** A signed JWT: three base64url parts. */
export function jwtValue(): string {
  const part = (json: object) => Buffer.from(JSON.stringify(json)).toString("base64url");
  const claims = { sub: randomText(16), iat: randomInt(1_700_000_000, 1_800_000_000), scope: "read write" };
  return `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}.${randomBytes(32).toString("base64url")}`;
}

/**
 * A short password: 6 characters, too few to get a hint. One is a symbol, so that the value cannot
 * turn up by chance in the hex and base64 text a server's files are full of.
 */
export function shortValue(): string {
  const value = randomText(5);
  const at = randomInt(6);
  return value.slice(0, at) + randomText(1, "!#%&*?@^~") + value.slice(at);
}

interface Assignment {
  keyId: string;
  key: string;
  leaseToken: string;
}

/**
 * Every value of `pool`, by key id, read as a client reads one: each key is assigned in turn (so
 * imported keys are read too, which only a block's holder may), read again with its lease token,
 * then released. The pool must have exactly `count` keys, all free.
 */
export async function readEveryValue(origin: string, pool: string, count: number): Promise<Map<string, string>> {
  const held: Assignment[] = [];
  for (;;) {
    const grant = await api(origin, "GET", `/pools/${pool}/keys`);
    if (grant.status === 404) {
      // Every key is held by this reader: the first is free again when its block ends.
      expect(grant.body).toEqual({ error: "No free key available", retryAfterSeconds: expect.any(Number) });
      break;
    }
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    held.push(grant.body);
    expect(held.length).toBeLessThanOrEqual(count);
  }
  expect(held).toHaveLength(count);
  const values = new Map<string, string>();
  for (const { keyId, key, leaseToken } of held) {
    const read = await api(origin, "GET", `/pools/${pool}/keys/${keyId}`, { leaseToken });
    expect(read).toEqual({ status: 200, body: { keyId, key } });
    values.set(keyId, key);
    const released = await api(origin, "PUT", `/pools/${pool}/keys/${keyId}`, {
      json: { blocked: false },
      leaseToken,
    });
    expect(released.status, JSON.stringify(released.body)).toBe(200);
  }
  return values;
}

/** The `encryption` part of `GET /pools/{pool}`. */
export async function encryptionOf(origin: string, pool: string): Promise<any> {
  const stats = await api(origin, "GET", `/pools/${pool}`);
  expect(stats.status, JSON.stringify(stats.body)).toBe(200);
  return stats.body.encryption;
}

/**
 * Waits until the pool's alarm has sealed all `count` values under `sealingKey`: the status a pool
 * reports once a rotation to that key is over.
 */
export async function waitUntilSealedUnder(
  origin: string,
  pool: string,
  sealingKey: string,
  count: number,
): Promise<void> {
  await expect
    .poll(() => encryptionOf(origin, pool), { timeout: 30_000, interval: 250 })
    .toEqual({
      sealingKey,
      localDevelopmentKey: false,
      values: [{ sealedBy: sealingKey, values: count, available: true }],
      toReseal: 0,
      unavailable: 0,
    });
}
