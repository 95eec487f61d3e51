import { afterAll, expect, it } from "vitest";
import { scaled } from "../support/scale";
import { api, CLIENT_TOKENS, TOKEN_VARS } from "./client";
import { type DevServer, startDevServer } from "./server";

// Bounded: a fixed number of requests, a time limit, loopback only. TTLs far longer than the test,
// so every block and every key lives until a client releases or deletes it, and the final state
// follows from what the clients saw alone.
const REQUESTS = scaled(2_000);
const TIME_LIMIT_MS = Math.max(150_000, scaled(150_000));
const CLIENTS = 64;
const POOL = "/pools/load/keys";
const VARS = { ...TOKEN_VARS, KEY_TTL_SECONDS: "3600", BLOCK_TTL_SECONDS: "3600" };
// This file's share of the reliability port range (the restart test has 9200-9249).
const PORTS: [number, number] = [9250, 9299];

let server: DevServer | undefined;
afterAll(async () => {
  await server?.stop();
});

/** What every client together observed. */
class Observed {
  readonly created = new Set<string>();
  /** Keys an operator has sent a DELETE for (before its answer), and when each DELETE was confirmed. */
  readonly deleting = new Set<string>();
  readonly deleted = new Map<string, number>();
  /** Keys a client holds right now, and the lease it got. */
  readonly held = new Map<string, number>();
  readonly values = new Map<string, string>();
  readonly leases: number[] = [];
  readonly statuses = new Map<string, number>();
  readonly problems: string[] = [];
  readonly latencies: number[] = [];

  count(what: string, status: number): void {
    const key = `${what} ${status}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (status >= 500 || status === 429) this.problems.push(`${what} answered ${status}`);
  }

  /** An assignment answered; `sentAt` is when its request left. */
  granted(keyId: string, lease: number, value: string, sentAt: number): void {
    // Nobody releases a key before they have it, so a key handed out while held is handed out twice.
    if (this.held.has(keyId)) this.problems.push(`duplicate assignment: ${keyId} handed out while held`);
    const deletedAt = this.deleted.get(keyId);
    if (deletedAt !== undefined && deletedAt < sentAt) this.problems.push(`deleted key ${keyId} was assigned`);
    this.held.set(keyId, lease);
    this.leases.push(lease);
    this.sawValue(keyId, value);
  }

  sawValue(keyId: string, value: string): void {
    const known = this.values.get(keyId);
    if (known !== undefined && known !== value) this.problems.push(`key ${keyId} changed its value`);
    this.values.set(keyId, value);
  }

  /** A 404 for a key is only right once somebody has asked to delete it. */
  gone(keyId: string, what: string): void {
    if (!this.deleting.has(keyId)) this.problems.push(`${what}: ${keyId} answered 404 but was never deleted`);
  }
}

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

it(
  `holds a mixed workload of ${REQUESTS} requests from ${CLIENTS} concurrent clients with no 5xx, no duplicate assignment and no lost update`,
  async () => {
    server = await startDevServer(PORTS, VARS);
    const base = server.origin;
    const seen = new Observed();
    const seed = await api(base, "POST", POOL, { json: { count: 300 } });
    expect(seed.status).toBe(201);
    for (const id of seed.body.keyIds) seen.created.add(id);

    let sent = 0;
    const started = Date.now();
    const timed = async (
      what: string,
      method: string,
      path: string,
      options: { json?: unknown; token?: string; leaseToken?: string },
    ) => {
      const t = performance.now();
      const answer = await api(base, method, path, options);
      seen.latencies.push(performance.now() - t);
      seen.count(what, answer.status);
      return answer;
    };

    async function client(token: string): Promise<void> {
      // Keys this client holds, with their leases and holder secrets.
      const mine = new Map<string, { lease: number; leaseToken: string }>();
      while (sent < REQUESTS && Date.now() - started < TIME_LIMIT_MS) {
        sent++;
        const roll = Math.random();
        const holding = pick([...mine.entries()]);
        if (roll < 0.3 || (holding === undefined && roll < 0.55)) {
          const sentAt = performance.now();
          const answer = await timed("assign", "GET", POOL, { token });
          if (answer.status === 200) {
            seen.granted(answer.body.keyId, answer.body.lease, answer.body.key, sentAt);
            mine.set(answer.body.keyId, { lease: answer.body.lease, leaseToken: answer.body.leaseToken });
          }
        } else if (holding !== undefined && roll < 0.55) {
          // Release: stop counting it as held before the server may hand it to someone else.
          const [keyId, { lease, leaseToken }] = holding;
          mine.delete(keyId);
          seen.held.delete(keyId);
          const release = { json: { blocked: false, lease }, token, leaseToken };
          const answer = await timed("release", "PUT", `${POOL}/${keyId}`, release);
          if (answer.status === 404) seen.gone(keyId, "release");
          else if (answer.status !== 200) seen.problems.push(`release of a held key answered ${answer.status}`);
        } else if (holding !== undefined && roll < 0.65) {
          const [keyId, { lease, leaseToken }] = holding;
          const renew = Math.random() < 0.5;
          const answer = renew
            ? await timed("renew", "PUT", `${POOL}/${keyId}`, { json: { blocked: true, lease }, token, leaseToken })
            : await timed("keep-alive", "PUT", `${POOL}/${keyId}/alive?lease=${lease}`, { token, leaseToken });
          if (answer.status === 404) {
            seen.gone(keyId, "holder's call");
            mine.delete(keyId);
            seen.held.delete(keyId);
          } else if (answer.status !== 200) seen.problems.push(`holder's call answered ${answer.status}`);
          else if (renew && answer.body.lease !== lease) seen.problems.push("a renewal changed the lease");
        } else if (roll < 0.85) {
          const keyId = pick([...seen.created]) as string;
          const answer = await timed("reveal", "GET", `${POOL}/${keyId}`, { token });
          if (answer.status === 200) seen.sawValue(keyId, answer.body.key);
          else if (answer.status === 404) seen.gone(keyId, "reveal");
          else if (answer.status !== 403) seen.problems.push(`reveal answered ${answer.status}`);
        } else if (roll < 0.93) {
          const answer = await timed("create", "POST", POOL, { json: { count: 1 + Math.floor(Math.random() * 5) } });
          if (answer.status === 201) for (const id of answer.body.keyIds) seen.created.add(id);
        } else {
          // An operator deletes a key it does not see held (it may be assigned meanwhile: that is allowed).
          const keyId = pick([...seen.created].filter((id) => !seen.held.has(id) && !seen.deleting.has(id)));
          if (keyId === undefined) continue;
          seen.deleting.add(keyId);
          const answer = await timed("delete", "DELETE", `${POOL}/${keyId}`, {});
          if (answer.status === 200) seen.deleted.set(keyId, performance.now());
          else seen.problems.push(`delete of a live key answered ${answer.status}`);
        }
      }
      // Whatever this client still holds stays held: the final check expects exactly these blocked.
    }

    await Promise.all(CLIENT_TOKENS.slice(0, CLIENTS).map((token) => client(token)));
    const elapsedMs = Date.now() - started;

    // The final state is what the clients observed: deleted keys are gone, held keys blocked, and
    // every other key free. An operator then drains the free keys: exactly those, each once.
    const stillHeld = new Set(seen.held.keys());
    const expectedFree = new Set([...seen.created].filter((id) => !seen.deleted.has(id) && !stillHeld.has(id)));
    const ids = [...seen.created];
    for (let i = 0; i < ids.length; i += CLIENTS) {
      await Promise.all(
        ids.slice(i, i + CLIENTS).map(async (id) => {
          const info = await api(base, "GET", `${POOL}/${id}/info`);
          if (seen.deleted.has(id)) expect(info.status, `deleted ${id}`).toBe(404);
          else expect(info.body.isBlocked, `key ${id}`).toBe(stillHeld.has(id));
        }),
      );
    }
    const drained = new Set<string>();
    for (;;) {
      const answer = await api(base, "GET", POOL);
      if (answer.status === 404) break;
      expect(answer.status).toBe(200);
      expect(drained.has(answer.body.keyId), "drained twice").toBe(false);
      drained.add(answer.body.keyId);
      seen.leases.push(answer.body.lease);
    }
    expect(drained).toEqual(expectedFree);
    // Every lease the pool handed out was seen by a client, once: none lost, none doubled.
    const leases = [...seen.leases].sort((a, b) => a - b);
    expect(leases).toEqual(leases.map((_, i) => i + 1));
    expect(seen.problems).toEqual([]);

    const latencies = [...seen.latencies].sort((a, b) => a - b);
    const quantile = (q: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    console.log(
      `load: ${seen.latencies.length} requests from ${CLIENTS} clients in ${elapsedMs} ms ` +
        `(${Math.round((seen.latencies.length / elapsedMs) * 1000)} req/s), p50 ${quantile(0.5)} ms, p99 ${quantile(0.99)} ms; ` +
        `${seen.created.size} keys created, ${seen.deleted.size} deleted, ${stillHeld.size} held at the end, ` +
        `${drained.size} drained free; ${leases.length} leases; statuses ${JSON.stringify([...seen.statuses].sort())}`,
    );
    expect(seen.latencies.length).toBeGreaterThan(REQUESTS / 2);
  },
  TIME_LIMIT_MS + 120_000,
);
