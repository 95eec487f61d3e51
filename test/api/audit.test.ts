import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { KeyPool } from "../../src/key-pool";
import { useFakeClock } from "../support/clock";
import { InjectedFailure } from "../support/faults";
import { ADMIN_TOKEN, call, TOKENS, uniquePool } from "../support/http";
import { freshPool, internalsOf } from "../support/pool";
import { iso } from "../support/timings";

const HOLDER = "KeyPool-Lease-Token";
const [ALICE, BOB] = TOKENS.client;
const DAY_MS = 86_400_000;

type Entry = {
  seq: number;
  at: string;
  event: string;
  keyId: string | null;
  lease: number | null;
  outcome: string | null;
  actor: { role: string; token: string | null };
  detail: Record<string, unknown> | null;
};

async function trail(pool: string, query = ""): Promise<Entry[]> {
  const answer = await call("GET", `/pools/${pool}/audit${query}`);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.entries;
}

/** The token fingerprint of each role's entries: what the trail shows of who acted. */
const who = (entry: Entry) => `${entry.event}:${entry.actor.role}:${entry.actor.token}`;

describe("GET /pools/{pool}/audit", () => {
  it("answers who held a key, when, under which lease, newest first, naming tokens only by fingerprint", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    const t0 = clock.nowMs;
    const keyId = (await call("POST", `/pools/${pool}/keys`)).body.keyId;
    clock.advance(1000);
    const alice = (await call("GET", `/pools/${pool}/keys`, { token: ALICE })).body;
    clock.advance(1000);
    const asAlice = { token: ALICE, headers: { [HOLDER]: alice.leaseToken } };
    await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { blocked: true }, ...asAlice });
    clock.advance(1000);
    await call("POST", `/pools/${pool}/keys/${keyId}/report`, { json: { outcome: "ok", release: true }, ...asAlice });
    clock.advance(1000);
    const bob = (await call("GET", `/pools/${pool}/keys`, { token: BOB })).body;
    clock.advance(1000);
    await call("DELETE", `/pools/${pool}/keys/${keyId}`);

    const entries = await trail(pool, `?keyId=${keyId}`);
    expect(entries.map((entry) => [entry.event, entry.lease, entry.at])).toEqual([
      ["deleted", null, iso(t0 + 5000)],
      ["assigned", bob.lease, iso(t0 + 4000)],
      ["unblocked", alice.lease, iso(t0 + 3000)],
      ["renewed", alice.lease, iso(t0 + 2000)],
      ["assigned", alice.lease, iso(t0 + 1000)],
      ["created", null, iso(t0)],
    ]);
    // The report that released the key is its unblocking, with the report's outcome.
    expect(entries[2]?.outcome).toBe("ok");
    expect(entries[1]?.detail).toEqual({ releaseAt: bob.releaseAt });
    // Sequence numbers grow by one, newest first.
    const seqs = entries.map((entry) => entry.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));

    // Each token has a fingerprint of its own, the same on every entry it made.
    const [deleted, bobs, , , alices, created] = entries as Entry[];
    for (const entry of entries) expect(entry.actor.token).toMatch(/^[0-9a-f]{12}$/);
    expect(alices?.actor).toEqual({ role: "client", token: entries[2]?.actor.token });
    expect(bobs?.actor.role).toBe("client");
    expect(bobs?.actor.token).not.toBe(alices?.actor.token);
    expect(deleted?.actor).toEqual({ role: "admin", token: created?.actor.token });
    expect(deleted?.actor.token).not.toBe(alices?.actor.token);

    // "Who held it at t0 + 2.5 s?": the assignments up to then, newest first.
    const until = await trail(pool, `?keyId=${keyId}&until=${iso(t0 + 2500)}&limit=5`);
    expect(until.find((entry) => entry.event === "assigned")).toMatchObject({
      lease: alice.lease,
      actor: { role: "client", token: alices?.actor.token },
    });
    const since = await trail(pool, `?keyId=${keyId}&since=${iso(t0 + 3000)}`);
    expect(since.map((entry) => entry.event)).toEqual(["deleted", "assigned", "unblocked"]);

    // Nothing in it is a key value or a token.
    const text = JSON.stringify(await trail(pool));
    for (const secret of [alice.key, alice.leaseToken, bob.key, bob.leaseToken, ALICE, BOB, ADMIN_TOKEN]) {
      expect(text).not.toContain(secret);
    }
  });

  it("records the pool's own changes as system: a block running out, a key expiring", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("PUT", `/pools/${pool}/settings`, { json: { keyTtlSeconds: 100, blockTtlSeconds: 10 } });
    const keyId = (await call("POST", `/pools/${pool}/keys`)).body.keyId;
    const held = (await call("GET", `/pools/${pool}/keys`, { token: ALICE })).body;
    const stub = env.KEY_POOL.getByName(pool);
    clock.advance(10_000);
    await runDurableObjectAlarm(stub);
    clock.advance(90_000);
    await runDurableObjectAlarm(stub);

    const entries = await trail(pool);
    expect(entries.slice(0, 2).map((entry) => [entry.event, entry.keyId, entry.lease, entry.actor])).toEqual([
      ["expired", keyId, null, { role: "system", token: null }],
      ["released", keyId, held.lease, { role: "system", token: null }],
    ]);
    // The pool's first entries: made by the settings call, which also shows the settings in force.
    expect(entries.slice(-2).map((entry) => entry.event)).toEqual(["settings_changed", "pool_created"]);
    expect(entries.at(-2)?.detail).toMatchObject({ keyTtlSeconds: 100, blockTtlSeconds: 10, auditRetentionDays: 30 });
  });

  it("records cooldowns, disables and enables, and a waiter's key as the waiter's", async () => {
    const pool = uniquePool();
    const keyId = (await call("POST", `/pools/${pool}/keys`)).body.keyId;
    const alice = (await call("GET", `/pools/${pool}/keys`, { token: ALICE })).body;
    const bobWaits = call("GET", `/pools/${pool}/keys?waitSeconds=10`, { token: BOB });
    for (let round = 0; (await call("GET", `/pools/${pool}`)).body.waiting < 1; round++) {
      expect(round).toBeLessThan(500);
    }
    await call("PUT", `/pools/${pool}/keys/${keyId}`, {
      json: { blocked: false },
      token: ALICE,
      headers: { [HOLDER]: alice.leaseToken },
    });
    const bob = (await bobWaits).body;
    await call("POST", `/pools/${pool}/keys/${keyId}/report`, {
      json: { outcome: "rate_limited", retryAfterSeconds: 30 },
      token: BOB,
      headers: { [HOLDER]: bob.leaseToken },
    });
    await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { disabled: true } });
    await call("PUT", `/pools/${pool}/keys/${keyId}`, { json: { disabled: false } });

    const entries = await trail(pool, `?keyId=${keyId}&limit=6`);
    expect(entries.map((entry) => `${entry.event}:${entry.actor.role}`)).toEqual([
      "enabled:admin",
      "disabled:admin",
      "cooled:client",
      "assigned:client",
      "unblocked:client",
      "assigned:client",
    ]);
    const [, , cooled, bobAssigned, unblocked, aliceAssigned] = entries as Entry[];
    // Bob's report is one entry: the cooldown it started, with its outcome, under Bob's block.
    expect(cooled).toMatchObject({ outcome: "rate_limited", lease: bob.lease });
    expect(cooled?.detail).toHaveProperty("coolingUntil");
    // The key Alice released went to Bob in her call's transaction, recorded as Bob's.
    expect(bobAssigned?.actor.token).toBe(cooled?.actor.token);
    expect(bobAssigned?.actor.token).not.toBe(unblocked?.actor.token);
    expect(unblocked?.actor.token).toBe(aliceAssigned?.actor.token);
    expect(who(bobAssigned as Entry)).not.toBe(who(aliceAssigned as Entry));
  });

  it("pages through the trail with a cursor, each entry once, and refuses bad queries with 400", async () => {
    const pool = uniquePool();
    for (let i = 0; i < 5; i++) await call("POST", `/pools/${pool}/keys`, { json: { count: 5 } });
    const seen: number[] = [];
    let after = "";
    for (let page = 0; page < 10; page++) {
      const answer = await call("GET", `/pools/${pool}/audit?limit=7${after}`);
      seen.push(...answer.body.entries.map((entry: Entry) => entry.seq));
      if (answer.body.cursor === null) break;
      after = `&after=${answer.body.cursor}`;
    }
    // The pool was made (1) and 25 keys created, one entry each.
    expect(seen).toEqual(Array.from({ length: 26 }, (_, i) => 26 - i));

    for (const query of [
      "?limit=0",
      "?limit=501",
      "?after=bm90LWEtY3Vyc29y",
      "?after=!!",
      "?since=yesterday",
      "?until=2026-13-01T00:00:00Z",
      `?keyId=${"x".repeat(37)}`,
      "?event=created",
    ]) {
      const answer = await call("GET", `/pools/${pool}/audit${query}`);
      expect(answer.status, query).toBe(400);
    }
    expect((await call("GET", `/pools/${pool}/audit`, { token: ALICE })).status).toBe(403);
    expect((await call("GET", `/pools/${uniquePool()}/audit`)).status).toBe(404);
    expect(await trail(pool, `?keyId=${crypto.randomUUID()}`)).toEqual([]);
  });

  it("writes a batch of any size as one entry per key, in order, each with its key and actor", async () => {
    const pool = uniquePool();
    const made: string[] = [];
    // One entry, a few, the most one statement binds (11), one more, and a bulk create's many.
    for (const count of [1, 2, 11, 12, 40]) {
      const answer = await call("POST", `/pools/${pool}/keys`, { json: { count } });
      made.push(...answer.body.keyIds);
    }
    const entries = (await trail(pool, "?limit=500")).reverse();
    const [created, ...keys] = entries;
    expect(created?.event).toBe("pool_created");
    expect(keys.map((entry) => [entry.seq, entry.event, entry.keyId])).toEqual(
      made.map((keyId, i) => [i + 2, "created", keyId]),
    );
    expect(
      new Set(keys.map((entry) => JSON.stringify([entry.actor, entry.lease, entry.outcome, entry.detail]))),
    ).toEqual(new Set([JSON.stringify([created?.actor, null, null, null])]));
  });

  it("starts again at 1 in a pool made again after it was retired: nothing of the old trail is kept", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 4 } });
    expect((await call("DELETE", `/pools/${pool}`)).status).toBe(200);
    await call("POST", `/pools/${pool}/keys`);
    expect((await trail(pool)).map((entry) => [entry.seq, entry.event])).toEqual([
      [2, "created"],
      [1, "pool_created"],
    ]);
  });
});

describe("audit retention", () => {
  it("the alarm deletes entries older than auditRetentionDays; numbering goes on above them", async () => {
    const clock = useFakeClock();
    const pool = uniquePool();
    await call("PUT", `/pools/${pool}/settings`, { json: { auditRetentionDays: 1, keysExpire: false } });
    await call("POST", `/pools/${pool}/keys`, { json: { count: 3 } });
    const before = await trail(pool);
    expect(before).toHaveLength(5); // pool_created, settings_changed, 3 created
    const stub = env.KEY_POOL.getByName(pool);
    await runDurableObjectAlarm(stub); // the switch of keysExpire armed it for now: nothing to prune yet
    expect(await trail(pool)).toHaveLength(5);
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBe(Date.parse(before.at(-1)?.at as string) + DAY_MS);

    clock.advance(DAY_MS - 1);
    const keyId = (await call("POST", `/pools/${pool}/keys`)).body.keyId;
    clock.advance(1);
    await runDurableObjectAlarm(stub);
    const after = await trail(pool);
    expect(after).toMatchObject([{ event: "created", keyId, seq: 6 }]);

    // Once every entry is gone, the next one still gets a number of its own.
    clock.advance(DAY_MS);
    await runDurableObjectAlarm(stub);
    expect(await trail(pool)).toEqual([]);
    await call("POST", `/pools/${pool}/keys`);
    expect((await trail(pool))[0]?.seq).toBe(7);
  });

  it("auditRetentionDays 0 keeps no trail, and the alarm deletes what there was", async () => {
    const pool = uniquePool();
    await call("POST", `/pools/${pool}/keys`, { json: { count: 2 } });
    expect(await trail(pool)).toHaveLength(3);
    await call("PUT", `/pools/${pool}/settings`, { json: { auditRetentionDays: 0 } });
    await call("POST", `/pools/${pool}/keys`);
    await call("GET", `/pools/${pool}/keys`);
    await runDurableObjectAlarm(env.KEY_POOL.getByName(pool));
    expect(await trail(pool)).toEqual([]);
    for (const days of [-1, 401, 1.5, "30"]) {
      const answer = await call("PUT", `/pools/${pool}/settings`, { json: { auditRetentionDays: days } });
      expect(answer.status, String(days)).toBe(400);
    }
  });
});

describe("an audit entry and its change", () => {
  it("are written together or not at all: a failed write of either leaves neither", async () => {
    const stub = freshPool();
    await stub.create(2);
    const idempotency = { keyHash: new Uint8Array(32).fill(1), requestHash: new Uint8Array(32).fill(2) };
    const outcomes = await runInDurableObject(stub, async (instance: KeyPool) => {
      const { audit, alarm, idempotency: answers } = internalsOf(instance);
      const count = () => instance.audit({ limit: 500 });
      const before = count();
      const failing = async (target: object, method: string, call: () => Promise<unknown>) => {
        const fail = vi.spyOn(target as Record<string, () => unknown>, method).mockImplementation(() => {
          throw new InjectedFailure(method);
        });
        const outcome = await call().catch((error) => error);
        fail.mockRestore();
        return outcome;
      };
      // The entry cannot be written: the assignment it records is rolled back.
      const first = await failing(audit, "flush", () => instance.assign());
      const afterFirst = instance.poolStats();
      // The change fails before its entry is written (the idempotent answer): the entry staged is dropped.
      const second = await failing(answers, "put", () => instance.assign({ idempotency }));
      // The transaction fails after the entry was written (arming the alarm to prune it): both are rolled back.
      const third = await failing(alarm, "armAtMost", () => instance.assign());
      return { before, first, afterFirst, second, third, after: count(), stats: instance.poolStats() };
    });
    expect(outcomes.first).toBeInstanceOf(InjectedFailure);
    expect(outcomes.second).toBeInstanceOf(InjectedFailure);
    expect(outcomes.third).toBeInstanceOf(InjectedFailure);
    expect(outcomes.after).toEqual(outcomes.before);
    expect(outcomes.stats).toMatchObject({
      ok: true,
      value: { keys: { free: 2, blocked: 0 }, counters: { assigned: 0 } },
    });
    expect(outcomes.afterFirst).toEqual(outcomes.stats);
    // And the next assignment is recorded with the next number.
    expect(await stub.assign()).toMatchObject({ ok: true });
    const entries = await stub.audit({ limit: 1 });
    expect(entries).toMatchObject({ ok: true, value: { entries: [{ event: "assigned", seq: 4 }] } });
  });
});
