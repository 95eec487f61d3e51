import { expect } from "vitest";
import { call, uniquePool } from "./http";

/** What `call` answers. */
export type Reply = Awaited<ReturnType<typeof call>>;

/** ISO-8601 UTC with milliseconds, the only time format the API answers with. */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** A holder secret as answered: 32 random bytes, base64url. */
export const LEASE_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** A random (version 4, RFC 4122 variant) UUID. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The deployed defaults from wrangler.toml [vars]. */

/** The fields of a key's info, in no particular order; never the key value. */
export const INFO_FIELDS = [
  "blockedAt",
  "coolingUntil",
  "createdAt",
  "expiresAt",
  "failures",
  "hint",
  "isBlocked",
  "label",
  "lastActivity",
  "lastOutcome",
  "lastReportAt",
  "releaseAt",
  "source",
  "state",
];

/** A time as the API writes it. */

/** `/pools/{pool}/keys` for a pool of the caller's own, empty until it creates keys. */
export const poolBase = (): string => `/pools/${uniquePool()}/keys`;

/** An id in the right format that names no key. */
export const unknownId = (): string => crypto.randomUUID();

/** Asserts an error answer: the status, a JSON content type and a non-empty string `error`. */
export function expectError(reply: Reply, status: number): void {
  expect(reply.status, `body: ${JSON.stringify(reply.body)}`).toBe(status);
  expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
  expect(typeof reply.body?.error).toBe("string");
  expect(reply.body.error.length).toBeGreaterThan(0);
  expectDetailsShape(reply.body);
}

/**
 * `details`, when an error has any, is always `[{"path", "message"}]` (as documented), whatever the
 * error, with the `keyId` a problem is about when it is about a key.
 */
export function expectDetailsShape(body: { details?: unknown }): void {
  if (!("details" in body)) return;
  expect(Array.isArray(body.details), JSON.stringify(body)).toBe(true);
  for (const problem of body.details as { keyId?: unknown }[]) {
    const keyId = problem.keyId === undefined ? {} : { keyId: expect.stringMatching(UUID_V4) };
    expect(problem).toEqual({ path: expect.any(String), message: expect.any(String), ...keyId });
  }
}

/** Asserts a successful answer with the given status and returns its JSON body. */
export function expectOk(reply: Reply, status = 200): any {
  expect(reply.status, `body: ${JSON.stringify(reply.body)}`).toBe(status);
  expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
  return reply.body;
}

/** Creates one key under `base` and returns its id. */
export async function createKey(base: string): Promise<string> {
  return expectOk(await call("POST", base), 201).keyId;
}

/** Creates `count` keys under `base` in one call and returns their ids. */
export async function createKeys(base: string, count: number): Promise<string[]> {
  return expectOk(await call("POST", base, { json: { count } }), 201).keyIds;
}

/** The key's info, which must exist. */
export async function infoOf(base: string, keyId: string): Promise<any> {
  return expectOk(await call("GET", `${base}/${keyId}/info`));
}

/** Blocks a free key with `PUT {"blocked": true}` and returns the answer (info plus lease). */
export async function blockKey(base: string, keyId: string): Promise<any> {
  return expectOk(await call("PUT", `${base}/${keyId}`, { json: { blocked: true } }));
}

/**
 * Assigns keys until none is free and returns every assignment, in order. Works on a shared pool
 * too (it then also blocks keys other tests left behind, which no test depends on).
 */
export async function drain(base: string, limit = 5_000): Promise<any[]> {
  const assignments: any[] = [];
  for (let i = 0; i < limit; i++) {
    const reply = await call("GET", base);
    if (reply.status === 404) {
      expectError(reply, 404);
      return assignments;
    }
    assignments.push(expectOk(reply));
  }
  throw new Error(`pool ${base} still had free keys after ${limit} assignments`);
}

/**
 * Starts the Worker and a pool object once, so a file's first test is not charged for the cold start
 * (use as `beforeAll(warmUp, 30_000)`).
 */
export async function warmUp(): Promise<void> {
  await createKey(poolBase());
}
