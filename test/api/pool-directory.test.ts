import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { POOL_ANSWER_TIMEOUT_MS } from "../../src/http/directory-page";
import { DEFAULT_POOL_PAGE, MAX_POOL_PAGE } from "../../src/http/directory-schemas";
import type { KeyPool } from "../../src/key-pool";
import { DIRECTORY_NAME, MAX_DIRECTORY_PAGE, type PoolDirectory } from "../../src/pool-directory";
import { brokenPool, InjectedFailure } from "../support/faults";
import { CLIENT_TOKEN, call, uniquePool } from "../support/http";
import { expectError, expectOk } from "../support/keys";

/**
 * `GET /pools`: the directory of pools, page by page, each with its counts. Storage is shared by the
 * tests of this file, so each names its pools with a prefix of its own and looks at those.
 */

interface Listed {
  pool: string;
  keys: { total: number; free: number; blocked: number; cooling: number; disabled: number } | null;
  waiting: number | null;
}

/** A prefix for one test's pool names, sorting them together. */
function prefix(): string {
  return `d-${crypto.randomUUID().slice(0, 8)}-`;
}

/** Every pool listed, following each page's cursor; checks that no page is longer than `limit`. */
async function listAll(limit?: number): Promise<{ pools: Listed[]; pages: number }> {
  const pools: Listed[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set("limit", String(limit));
    if (cursor !== null) query.set("cursor", cursor);
    const page = expectOk(await call("GET", `/pools?${query}`));
    expect(page.pools.length).toBeLessThanOrEqual(limit ?? DEFAULT_POOL_PAGE);
    pools.push(...page.pools);
    cursor = page.cursor;
    pages++;
  } while (cursor !== null);
  return { pools, pages };
}

/** The pool as GET /pools lists it, from the pool's own GET /pools/{pool}. */
async function asListed(pool: string): Promise<Listed> {
  const stats = expectOk(await call("GET", `/pools/${pool}`));
  return { pool, keys: stats.keys, waiting: stats.waiting };
}

describe("GET /pools", () => {
  it("lists every pool once, in name order, page by page, each with the counts GET /pools/{pool} shows", async () => {
    const p = prefix();
    const names = [0, 1, 2, 3, 4].map((i) => `${p}${i}`);
    for (const [i, pool] of names.entries()) {
      const { keyIds } = expectOk(await call("POST", `/pools/${pool}/keys`, { json: { count: i + 1 } }), 201);
      const held = i >= 2 ? expectOk(await call("GET", `/pools/${pool}/keys`, { token: CLIENT_TOKEN })).keyId : null;
      // A key other than the one held: disabling the held one would end its block.
      const other = (keyIds as string[]).find((keyId) => keyId !== held);
      if (i >= 3) expectOk(await call("PUT", `/pools/${pool}/keys/${other}`, { json: { disabled: true } }));
    }

    const { pools, pages } = await listAll(2);
    expect(pages).toBeGreaterThanOrEqual(3);
    const all = pools.map((entry) => entry.pool);
    expect(all, "in name order, each once").toEqual([...new Set(all)].sort());
    const mine = pools.filter((entry) => entry.pool.startsWith(p));
    expect(mine).toEqual(await Promise.all(names.map(asListed)));
    expect(mine.map((entry) => entry.keys?.total)).toEqual([1, 2, 3, 4, 5]);
    expect(mine[4]?.keys).toMatchObject({ blocked: 1, disabled: 1 });

    // The default page, and the largest, list the same pools in the same order.
    expect((await listAll()).pools.map((entry) => entry.pool)).toEqual(all);
    expect((await listAll(MAX_POOL_PAGE)).pools.map((entry) => entry.pool)).toEqual(all);
  });

  it("keeps a pool listed, with no keys, once its last key is deleted or its settings alone made it", async () => {
    const p = prefix();
    const { keyId } = expectOk(await call("POST", `/pools/${p}keys/keys`), 201);
    expectOk(await call("DELETE", `/pools/${p}keys/keys/${keyId}`));
    expectOk(await call("PUT", `/pools/${p}settings/settings`, { json: { keyTtlSeconds: 60 } }));
    const zero = { total: 0, free: 0, blocked: 0, cooling: 0, disabled: 0 };
    const mine = (await listAll(MAX_POOL_PAGE)).pools.filter((entry) => entry.pool.startsWith(p));
    expect(mine).toEqual([
      { pool: `${p}keys`, keys: zero, waiting: 0 },
      { pool: `${p}settings`, keys: zero, waiting: 0 },
    ]);
  });

  it("takes a retired pool off the list, and lists no pool nobody made", async () => {
    const p = prefix();
    expectOk(await call("POST", `/pools/${p}kept/keys`), 201);
    expectOk(await call("POST", `/pools/${p}retired/keys`), 201);
    expectOk(await call("DELETE", `/pools/${p}retired`));
    // Calls on a name nobody made answer 404 and make nothing.
    expectError(await call("GET", `/pools/${p}made-up`), 404);
    expectError(await call("GET", `/pools/${p}made-up/keys`, { token: CLIENT_TOKEN }), 404);
    const mine = (await listAll(MAX_POOL_PAGE)).pools.filter((entry) => entry.pool.startsWith(p));
    expect(mine.map((entry) => entry.pool)).toEqual([`${p}kept`]);
  });

  it("lists a pool whose object fails to answer, or holds nothing, with null counts, and the rest as usual", async () => {
    const p = prefix();
    expectOk(await call("POST", `/pools/${p}a-fine/keys`, { json: { count: 2 } }), 201);
    await brokenPool(`${p}b-broken`);
    // Registered in the directory, but never made: its object holds nothing.
    expect(await env.POOL_DIRECTORY.getByName(DIRECTORY_NAME).register(`${p}c-empty`)).toBe(true);
    expectOk(await call("POST", `/pools/${p}d-fine/keys`), 201);

    const page = expectOk(await call("GET", `/pools?limit=${MAX_POOL_PAGE}`));
    const mine = page.pools.filter((entry: Listed) => entry.pool.startsWith(p));
    expect(mine).toEqual([
      await asListed(`${p}a-fine`),
      { pool: `${p}b-broken`, keys: null, waiting: null },
      { pool: `${p}c-empty`, keys: null, waiting: null },
      await asListed(`${p}d-fine`),
    ]);
    expect(mine[0].keys.total).toBe(2);
  });

  it("refuses a malformed cursor, one of a key listing, a limit out of 1..100 and unknown parameters, as JSON 400s", async () => {
    const pool = `${prefix()}list`;
    expectOk(await call("POST", `/pools/${pool}/keys`, { json: { count: 2 } }), 201);
    const keyCursor = expectOk(await call("GET", `/pools/${pool}/list?limit=1`)).cursor;
    expect(keyCursor).toEqual(expect.any(String));
    const notAName = btoa("p:not a pool name").replaceAll("=", "");
    for (const query of [
      "cursor=%21%21",
      `cursor=${keyCursor}`,
      `cursor=${notAName}`,
      `cursor=${"a".repeat(201)}`,
      "limit=0",
      `limit=${MAX_POOL_PAGE + 1}`,
      "limit=1.5",
      "limit=ten",
      "state=free",
    ]) {
      const reply = await call("GET", `/pools?${query}`);
      expectError(reply, 400);
      expect(reply.body.details[0].path, query).toMatch(/^query\./);
    }
  });

  it("has a directory object that refuses a page size outside 1..MAX_DIRECTORY_PAGE", async () => {
    const directory = env.POOL_DIRECTORY.getByName(DIRECTORY_NAME);
    // Called inside the object: a refusal thrown across RPC would also surface as an unhandled rejection.
    await runInDurableObject(directory, (instance: PoolDirectory) => {
      for (const limit of [0, MAX_DIRECTORY_PAGE + 1, 1.5]) {
        expect(() => instance.list(null, limit)).toThrow(/limit must be an integer/);
      }
    });
    expect((await directory.list(null, MAX_DIRECTORY_PAGE)).names.length).toBeLessThanOrEqual(MAX_DIRECTORY_PAGE);
  });

  it("is for admins: a client token is 403, no token 401", async () => {
    expectError(await call("GET", "/pools", { token: CLIENT_TOKEN }), 403);
    expectError(await call("GET", "/pools", { token: null }), 401);
  });
});

describe("a pool that does not answer", () => {
  it("is listed without counts once POOL_ANSWER_TIMEOUT_MS has passed, and holds up no other pool", async () => {
    const p = prefix();
    expectOk(await call("POST", `/pools/${p}a-fine/keys`), 201);
    expectOk(await call("POST", `/pools/${p}b-stuck/keys`), 201);
    // The stuck pool's object never answers (as an object stuck behind a long wake would not, in time).
    const real = env.KEY_POOL.getByName.bind(env.KEY_POOL);
    const spy = vi
      .spyOn(env.KEY_POOL, "getByName")
      .mockImplementation((name, options) =>
        name === `${p}b-stuck`
          ? ({ poolStats: () => new Promise(() => {}) } as unknown as ReturnType<typeof real>)
          : real(name, options),
      );
    try {
      const started = Date.now();
      const page = expectOk(await call("GET", `/pools?limit=${MAX_POOL_PAGE}`));
      const waited = Date.now() - started;
      expect(page.pools.filter((entry: Listed) => entry.pool.startsWith(p))).toEqual([
        await asListed(`${p}a-fine`),
        { pool: `${p}b-stuck`, keys: null, waiting: null },
      ]);
      expect(waited).toBeGreaterThanOrEqual(POOL_ANSWER_TIMEOUT_MS);
      expect(waited).toBeLessThan(POOL_ANSWER_TIMEOUT_MS + 1000);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("a pool's registration in the directory", () => {
  /**
   * Runs `work` in a new pool's object with its directory's `register` failing `failures` times first
   * (each failure thrown by the stub the pool is given, as a failed call would be); answers what `work`
   * answers and how many registrations were tried.
   */
  async function withFailingDirectory<T>(
    name: string,
    failures: number,
    work: (instance: KeyPool) => Promise<T>,
  ): Promise<{ answer: T; tries: number }> {
    return runInDurableObject(env.KEY_POOL.getByName(name), async (instance: KeyPool) => {
      const namespace = (instance as unknown as { env: Env }).env.POOL_DIRECTORY;
      const real = namespace.getByName.bind(namespace);
      let tries = 0;
      const spy = vi.spyOn(namespace, "getByName").mockImplementation((directoryName) => {
        const directory = real(directoryName);
        return {
          register: (pool: string) => {
            tries++;
            return tries <= failures ? Promise.reject(new InjectedFailure("directory")) : directory.register(pool);
          },
        } as unknown as ReturnType<typeof real>;
      });
      try {
        return { answer: await work(instance), tries };
      } finally {
        spy.mockRestore();
      }
    });
  }

  it("is tried again after a failure: a directory failing twice does not fail the making call", async () => {
    const name = uniquePool();
    const { answer, tries } = await withFailingDirectory(name, 2, (instance) => instance.create(1));
    expect(answer).toMatchObject({ ok: true });
    expect(tries).toBe(3);
    expect(await env.POOL_DIRECTORY.getByName(DIRECTORY_NAME).exists(name)).toBe(true);
    expect(expectOk(await call("GET", `/pools/${name}`)).keys.total).toBe(1);
  });

  it("fails the making call when every try fails, and makes nothing: the next call makes the pool", async () => {
    const name = uniquePool();
    const { answer, tries } = await withFailingDirectory(name, 3, (instance) =>
      instance.create(1).catch((error: unknown) => error),
    );
    expect(answer).toBeInstanceOf(InjectedFailure);
    expect(tries).toBe(3);
    expect(await env.POOL_DIRECTORY.getByName(DIRECTORY_NAME).exists(name)).toBe(false);
    expectError(await call("GET", `/pools/${name}`), 404);
    expect(await env.KEY_POOL.getByName(name).poolStats()).toMatchObject({ ok: false, refusal: "no_such_pool" });
    expect(await env.KEY_POOL.getByName(name).create(1)).toMatchObject({ ok: true });
    expect(expectOk(await call("GET", `/pools/${name}`)).keys.total).toBe(1);
  });
});
