import { describe, expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { call, uniquePool } from "../support/http";
import { INFO_FIELDS } from "../support/keys";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

/** Every key of `state`, following cursors page by page; also returns the pages' sizes. */
async function listAll(pool: string, state: string, limit: number) {
  const keys: any[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const query = new URLSearchParams({ state, limit: String(limit) });
    if (cursor !== null) query.set("cursor", cursor);
    const response = await call("GET", `/pools/${pool}/list?${query}`);
    expect(response.status).toBe(200);
    keys.push(...response.body.keys);
    sizes.push(response.body.keys.length);
    cursor = response.body.cursor;
    if (cursor === null) return { keys, sizes };
  }
  throw new Error("the listing never ended");
}

/** A cursor in the API's encoding (base64url without padding) around arbitrary text. */
function cursorOf(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function poolWith(free: number, blocked: number) {
  const pool = uniquePool();
  const created = await call("POST", `/pools/${pool}/keys`, { json: { count: free + blocked } });
  const blockedIds: string[] = [];
  for (let i = 0; i < blocked; i++) blockedIds.push((await call("GET", `/pools/${pool}/keys`)).body.keyId);
  return { pool, ids: created.body.keyIds as string[], blockedIds };
}

describe("GET /pools/{pool}/list", () => {
  it("lists every key exactly once across pages, in id order, with its state and no value", async () => {
    const { pool, ids, blockedIds } = await poolWith(17, 6);
    const { keys, sizes } = await listAll(pool, "all", 5);
    expect(sizes).toEqual([5, 5, 5, 5, 3]);
    expect(keys.map((k) => k.keyId)).toEqual([...ids].sort());
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual([...INFO_FIELDS, "keyId"].sort());
      expect(key.isBlocked).toBe(blockedIds.includes(key.keyId));
    }
  });

  it("lists free and blocked keys apart, each exactly once", async () => {
    const { pool, ids, blockedIds } = await poolWith(9, 7);
    const free = await listAll(pool, "free", 4);
    const blocked = await listAll(pool, "blocked", 3);
    expect(free.keys.map((k) => k.keyId).sort()).toEqual(ids.filter((id) => !blockedIds.includes(id)).sort());
    expect(blocked.keys.map((k) => k.keyId).sort()).toEqual([...blockedIds].sort());
    expect(free.keys.every((k) => !k.isBlocked && k.releaseAt === null)).toBe(true);
    // Blocked keys come soonest release first.
    const releases = blocked.keys.map((k) => k.releaseAt);
    expect(releases).toEqual([...releases].sort());
    expect(blocked.keys.every((k) => k.isBlocked)).toBe(true);
  });

  it("ends with a null cursor when the last page is exactly full", async () => {
    const { pool } = await poolWith(4, 0);
    const { sizes } = await listAll(pool, "all", 2);
    expect(sizes).toEqual([2, 2]);
  });

  it("lists an empty pool as one empty page, and answers 404 for a pool nobody made", async () => {
    const pool = uniquePool();
    expect(await call("GET", `/pools/${pool}/list`)).toMatchObject({ status: 404, body: { error: "No such pool" } });
    await call("PUT", `/pools/${pool}/settings`, { json: {} });
    const response = await call("GET", `/pools/${pool}/list`);
    expect(response).toMatchObject({ status: 200, body: { keys: [], cursor: null } });
  });

  it("defaults to all keys, up to 100 a page", async () => {
    const { pool } = await poolWith(101, 1);
    const first = await call("GET", `/pools/${pool}/list`);
    expect(first.body.keys).toHaveLength(100);
    const second = await call("GET", `/pools/${pool}/list?cursor=${first.body.cursor}`);
    expect(second.body).toMatchObject({ cursor: null });
    expect(second.body.keys).toHaveLength(2);
  });

  it("never lists expired keys, and shows a block whose time is up as released", async () => {
    const clock = useFakeClock();
    const { pool, blockedIds } = await poolWith(2, 1);
    clock.advance(BLOCK_TTL_MS);
    // The listing settles overdue deadlines first, so the released key is among the free ones.
    expect((await listAll(pool, "free", 10)).keys.map((k) => k.keyId)).toContain(blockedIds[0]);
    const all = await listAll(pool, "all", 10);
    expect(all.keys).toHaveLength(3);
    expect(all.keys.find((k) => k.keyId === blockedIds[0])).toMatchObject({ isBlocked: false, releaseAt: null });
    expect((await listAll(pool, "blocked", 10)).keys).toEqual([]);
    clock.advance(KEY_TTL_MS);
    expect((await listAll(pool, "all", 10)).keys).toEqual([]);
    expect((await listAll(pool, "free", 10)).keys).toEqual([]);
  });

  it.each([
    ["state=taken", /state/],
    ["limit=0", /limit/],
    ["limit=1001", /limit/],
    ["limit=ten", /limit/],
    ["limit=2.5", /limit/],
    ["cursor=!!!", /cursor/],
    ["cursor=", /cursor/],
    [`cursor=${cursorOf("a:not-a-uuid")}`, /cursor/],
    [`cursor=${cursorOf("f:-1")}`, /cursor/],
    [`cursor=${cursorOf("f:1:2")}`, /cursor/],
    [`cursor=${cursorOf("b:12")}`, /cursor/],
    [`cursor=${cursorOf(`x:${crypto.randomUUID()}`)}`, /cursor/],
    [`cursor=${"A".repeat(300)}`, /cursor/],
    ["extra=1", /extra|unrecognized/i],
  ])("rejects %s with 400", async (query, message) => {
    const response = await call("GET", `/pools/${uniquePool()}/list?${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(message);
  });

  it("accepts a well-formed cursor it did not hand out, and starts after that position", async () => {
    const { pool, ids } = await poolWith(5, 0);
    const sorted = [...ids].sort();
    const response = await call("GET", `/pools/${pool}/list?cursor=${cursorOf(`a:${sorted[1]}`)}`);
    expect(response.status).toBe(200);
    expect(response.body.keys.map((k: any) => k.keyId)).toEqual(sorted.slice(2));
  });

  it("rejects a cursor from a listing of another state with 400", async () => {
    const { pool } = await poolWith(3, 0);
    const first = await call("GET", `/pools/${pool}/list?state=free&limit=1`);
    expect(first.body.cursor).toEqual(expect.any(String));
    const response = await call("GET", `/pools/${pool}/list?state=all&cursor=${first.body.cursor}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/state=free/);
  });
});
