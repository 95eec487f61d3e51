import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, expect, it } from "vitest";
import { api, CLIENT_TOKENS, removeDir, TOKEN_VARS, tempDir } from "./client";
import { type DevServer, startDevServer } from "./server";

// Short TTLs so the test can watch the deadlines fire after the restart, long enough that they do
// not fire during it (a cold `wrangler dev` start takes seconds on a loaded machine).
const KEY_TTL_S = 50;
const BLOCK_TTL_S = 30;
const VARS = { ...TOKEN_VARS, KEY_TTL_SECONDS: String(KEY_TTL_S), BLOCK_TTL_SECONDS: String(BLOCK_TTL_S) };
// This file's share of the reliability port range (the load test has 9250-9299).
const PORTS: [number, number] = [9200, 9249];
const POOL = "/pools/restart/keys";

const dir = tempDir();
let server: DevServer | undefined;
afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

interface Info {
  isBlocked: boolean;
  blockedAt: string | null;
  releaseAt: string | null;
}

const released = (info: Info): Info => ({ ...info, isBlocked: false, blockedAt: null, releaseAt: null });

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

/** Every key row left in the persisted SQLite files of the server's Durable Objects. */
function persistedRows(): number {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else if (entry.name.endsWith(".sqlite")) files.push(join(d, entry.name));
    }
  };
  walk(dir);
  let rows = 0;
  for (const file of files) {
    const db = new DatabaseSync(file, { readOnly: true });
    const hasKeys = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'keys'").get();
    if (hasKeys !== undefined) rows += Number((db.prepare("SELECT count(*) AS n FROM keys").get() as { n: number }).n);
    db.close();
  }
  if (files.length === 0) throw new Error(`no SQLite file under ${dir}`);
  return rows;
}

it("keeps keys, blocks, leases and pending expiries across a restart of the real server", async () => {
  server = await startDevServer(PORTS, VARS, dir);
  const created = await api(server.origin, "POST", POOL, { json: { count: 4 } });
  expect(created.status).toBe(201);
  const [held, blocked, kept, deleted] = created.body.keyIds as string[];
  // A client is handed one key (the only free one once the others are blocked or deleted).
  expect((await api(server.origin, "PUT", `${POOL}/${blocked}`, { json: { blocked: true } })).status).toBe(200);
  expect((await api(server.origin, "DELETE", `${POOL}/${deleted}`)).status).toBe(200);
  expect((await api(server.origin, "PUT", `${POOL}/${kept}/alive`)).status).toBe(200);
  const grant = await api(server.origin, "GET", POOL, { token: CLIENT_TOKENS[0] });
  expect(grant.status).toBe(200);
  // Two free keys (held, kept) were candidates; note which one the client got.
  const holder = grant.body as { keyId: string; lease: number; leaseToken: string };
  const free = holder.keyId === held ? kept : held;
  const infos = new Map<string, Info>();
  for (const id of [held, blocked, kept] as string[])
    infos.set(id, (await api(server.origin, "GET", `${POOL}/${id}/info`)).body);

  await server.stop();
  server = await startDevServer(PORTS, VARS, dir);

  // Everything as it was: same state, same deadlines to the millisecond; the deleted key stays gone.
  // (A block whose release passed while the server was down is released, as it would have been.)
  for (const [id, info] of infos) {
    const release = Date.parse(info.releaseAt ?? "");
    if (Date.now() > release - 2_000) await sleepUntil(release + 500); // never ask at the boundary
    const asked = Date.now();
    const now = (await api(server.origin, "GET", `${POOL}/${id}/info`)).body;
    expect(now).toEqual(asked >= Date.parse(info.releaseAt ?? "") ? released(info) : info);
  }
  expect((await api(server.origin, "GET", `${POOL}/${deleted}/info`)).status).toBe(404);
  // The holder's secret still proves its block after the restart, and nobody else can take its key.
  const asHolder = { token: CLIENT_TOKENS[0], leaseToken: holder.leaseToken };
  const renewed = await api(server.origin, "PUT", `${POOL}/${holder.keyId}/alive?lease=${holder.lease}`, asHolder);
  expect(renewed.status).toBe(200);
  const guessed = { token: CLIENT_TOKENS[1] };
  expect((await api(server.origin, "PUT", `${POOL}/${holder.keyId}/alive?lease=${holder.lease}`, guessed)).status).toBe(
    409,
  );
  expect((await api(server.origin, "GET", `${POOL}/${holder.keyId}`, { token: CLIENT_TOKENS[1] })).status).toBe(403);
  const next = await api(server.origin, "GET", POOL, { token: CLIENT_TOKENS[1] });
  expect(next.body).toMatchObject({ keyId: free });
  expect(next.body.lease).toBeGreaterThan(holder.lease);

  // The pending deadlines fire after the restart: blocks release, then every key expires, and the
  // alarm (armed before the restart) deletes them from storage; reads alone would delete nothing.
  const blockedInfo = (await api(server.origin, "GET", `${POOL}/${blocked}/info`)).body;
  await sleepUntil(Date.parse(blockedInfo.releaseAt) + 500);
  expect((await api(server.origin, "GET", `${POOL}/${blocked}/info`)).body).toMatchObject({ isBlocked: false });
  const restarted = server;
  const expiries = await Promise.all(
    [held, blocked, kept].map(async (id) => (await api(restarted.origin, "GET", `${POOL}/${id}/info`)).body.expiresAt),
  );
  const lastExpiry = Math.max(...expiries.map((at: string) => Date.parse(at)));
  await sleepUntil(lastExpiry + 2_000);
  for (const id of [held, blocked, kept])
    expect((await api(server.origin, "GET", `${POOL}/${id}/info`)).status).toBe(404);
  await server.stop();
  expect(persistedRows()).toBe(0);
}, 180_000); // two server starts and the wait for the deadlines: about a minute

interface Held {
  keyId: string;
  leaseToken: string;
}

it("callers waiting for a key when the server is killed lose nothing, and no key is blocked for them", async () => {
  const waitDir = tempDir();
  const POOL = "/pools/waiting/keys";
  const stats = async (origin: string) => (await api(origin, "GET", "/pools/waiting")).body;
  let crashed: DevServer | undefined = await startDevServer(PORTS, VARS, waitDir);
  try {
    await api(crashed.origin, "POST", POOL, { json: { count: 2 } });
    const holders: Held[] = [];
    for (let i = 0; i < 2; i++)
      holders.push((await api(crashed.origin, "GET", POOL, { token: CLIENT_TOKENS[0] })).body);
    const [first, second] = holders as [Held, Held];
    expect(first.keyId).not.toBe(second.keyId);

    // Three callers wait for a key, each with its own Idempotency-Key, as the client sends them.
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const origin = crashed.origin;
    const wait = (key: string, seconds: number) =>
      api(origin, "GET", `${POOL}?waitSeconds=${seconds}`, {
        token: CLIENT_TOKENS[1],
        headers: { "Idempotency-Key": key },
      });
    const waiting = ids.map((key) =>
      wait(key, 25).then(
        (answer) => answer.status,
        () => "connection lost",
      ),
    );
    for (let round = 0; (await stats(origin)).waiting < 3; round++) {
      expect(round, "three callers never waited").toBeLessThan(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    await crashed.kill();
    crashed = undefined;
    // Each call ends with the process (or answers 503 if the runtime got to answer first): none got a key.
    for (const outcome of await Promise.all(waiting)) expect(["connection lost", 503]).toContain(outcome);

    const server = await startDevServer(PORTS, VARS, waitDir);
    crashed = server;
    const after = await stats(server.origin);
    expect(after).toMatchObject({ keys: { total: 2, free: 0, blocked: 2 }, waiting: 0 });
    expect(after.counters.assigned).toBe(2); // no key went to a caller the crash cut off

    // The holders' secrets still hold their keys; what one releases goes to a retried waiter.
    const retry = (key: string, seconds: number) =>
      api(server.origin, "GET", `${POOL}?waitSeconds=${seconds}`, {
        token: CLIENT_TOKENS[1],
        headers: { "Idempotency-Key": key },
      });
    const asHolder = (holder: Held) => ({
      token: CLIENT_TOKENS[0],
      leaseToken: holder.leaseToken,
      json: { blocked: false },
    });
    const retried = retry(ids[0] as string, 20);
    for (let round = 0; (await stats(server.origin)).waiting < 1; round++) {
      expect(round, "the retry never waited").toBeLessThan(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await api(server.origin, "PUT", `${POOL}/${first.keyId}`, asHolder(first))).status).toBe(200);
    expect(await retried).toMatchObject({ status: 200, body: { keyId: first.keyId } });
    // Its retry again, after the answer: the same key and secret, not a second key.
    const again = await retry(ids[0] as string, 20);
    expect(again.body).toEqual((await retried).body);
    expect((await api(server.origin, "PUT", `${POOL}/${second.keyId}`, asHolder(second))).status).toBe(200);
    expect(await retry(ids[1] as string, 1)).toMatchObject({ status: 200, body: { keyId: second.keyId } });
    expect(await retry(ids[2] as string, 0.5)).toMatchObject({
      status: 404,
      body: { retryAfterSeconds: expect.any(Number) },
    });
  } finally {
    await crashed?.stop();
    removeDir(waitDir);
  }
}, 180_000);
