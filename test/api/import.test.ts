import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { sha256 } from "../../src/config";
import worker from "../../src/index";
import { useFakeClock } from "../support/clock";
import { ADMIN_TOKEN, CLIENT_TOKEN, call, uniquePool } from "../support/http";
import { expectError, expectOk, INFO_FIELDS } from "../support/keys";
import { KEY_TTL_MS } from "../support/timings";

/** Values of the shapes people import: a provider key, a JSON credential over several lines, a short one. */
const providerKey = () => `sk-live-${crypto.randomUUID().replaceAll("-", "")}x9Qa`;
const credential = () => JSON.stringify({ type: "service_account", private_key: crypto.randomUUID() }, null, 2);

function newPool(): string {
  return `/pools/${uniquePool()}/keys`;
}

async function importValues(base: string, keys: { key: string; label?: string }[]): Promise<string[]> {
  return expectOk(await call("POST", base, { json: { keys } }), 201).keyIds;
}

async function totalIn(base: string): Promise<number> {
  const pool = base.replace(/^\/pools\//, "").replace(/\/keys$/, "");
  return expectOk(await call("GET", `/pools/${pool}`)).keys.total;
}

const holding = (leaseToken: string) => ({ "KeyPool-Lease-Token": leaseToken });

describe("importing keys", () => {
  it("answers the new ids in the order given, and shows source, label and hint, never the value", async () => {
    const base = newPool();
    const values = [providerKey(), credential(), "abc123"];
    const [first, second, third] = values as [string, string, string];
    const ids = await importValues(base, [{ key: first, label: "openai-prod-1" }, { key: second }, { key: third }]);
    expect(ids).toHaveLength(3);
    const infos = await Promise.all(ids.map(async (id) => expectOk(await call("GET", `${base}/${id}/info`))));
    expect(infos.map((info) => [info.source, info.label, info.hint])).toEqual([
      ["imported", "openai-prod-1", "x9Qa"],
      ["imported", null, second.slice(-4)],
      // Four characters of a six-character value would give most of it away: no hint.
      ["imported", null, null],
    ]);
    for (const info of infos) expect(Object.keys(info).sort()).toEqual([...INFO_FIELDS].sort());

    const pool = base.split("/")[2];
    const listing = expectOk(await call("GET", `/pools/${pool}/list`));
    const shown = JSON.stringify([infos, listing, expectOk(await call("GET", `/pools/${pool}`))]);
    for (const value of values) expect(shown).not.toContain(value);
  });

  it("hands an imported value to the holder of its block only, admins included", async () => {
    const base = newPool();
    const value = providerKey();
    const [keyId] = await importValues(base, [{ key: value }]);
    // Free: nobody reads it, not even an admin.
    for (const token of [ADMIN_TOKEN, CLIENT_TOKEN]) expectError(await call("GET", `${base}/${keyId}`, { token }), 403);

    const held = expectOk(await call("GET", base, { token: CLIENT_TOKEN }));
    expect(held).toMatchObject({ keyId, key: value });
    const byHolder = await call("GET", `${base}/${keyId}`, { token: CLIENT_TOKEN, headers: holding(held.leaseToken) });
    expect(expectOk(byHolder)).toEqual({ keyId, key: value });
    const byAdmin = await call("GET", `${base}/${keyId}`);
    expectError(byAdmin, 403);
    expect(byAdmin.body.error).toMatch(/holder/);

    // Released, it is nobody's again.
    const headers = holding(held.leaseToken);
    expectOk(await call("PUT", `${base}/${keyId}`, { token: CLIENT_TOKEN, json: { blocked: false }, headers }));
    expectError(await call("GET", `${base}/${keyId}`, { token: CLIENT_TOKEN, headers }), 403);
  });

  it("follows the pool's rules like any key: keep-alive, expiry as info shows, deletion", async () => {
    const base = newPool();
    const [keyId] = await importValues(base, [{ key: providerKey() }]);
    const alive = expectOk(await call("PUT", `${base}/${keyId}/alive`));
    expect(alive).toMatchObject({ source: "imported", isBlocked: false });
    expect(Date.parse(alive.expiresAt)).toBeGreaterThan(Date.parse(alive.lastActivity));
    expectOk(await call("DELETE", `${base}/${keyId}`));
    expectError(await call("GET", `${base}/${keyId}/info`), 404);
  });

  it("refuses a value the pool holds already: 409 naming the entry and the key, and nothing imported", async () => {
    const base = newPool();
    const [a, b] = [providerKey(), providerKey()];
    const [existing] = await importValues(base, [{ key: a }]);
    const reply = await call("POST", base, { json: { keys: [{ key: b }, { key: a }] } });
    expectError(reply, 409);
    expect(reply.body.details).toEqual([
      { path: "body.keys.1.key", message: "This value is in the pool already", keyId: existing },
    ]);
    expect(JSON.stringify(reply.body)).not.toContain(a);
    expect(await totalIn(base)).toBe(1);
    // The same value in another pool is another pool's business.
    expect(await importValues(newPool(), [{ key: a }])).toHaveLength(1);
  });

  it("takes a value again once the key that held it has expired or been deleted, before any alarm runs", async () => {
    const clock = useFakeClock();
    const base = newPool();
    const [expiring, deleted] = [providerKey(), providerKey()];
    const [, gone] = await importValues(base, [{ key: expiring }, { key: deleted }]);
    expectOk(await call("DELETE", `${base}/${gone}`));
    clock.advance(KEY_TTL_MS);
    expect(await importValues(base, [{ key: expiring }, { key: deleted }])).toHaveLength(2);
    expect(await totalIn(base)).toBe(2);
  });

  it("refuses a value given twice in one request, naming both entries, and imports nothing", async () => {
    const base = newPool();
    const value = providerKey();
    const reply = await call("POST", base, {
      json: { keys: [{ key: value }, { key: providerKey() }, { key: value }] },
    });
    expectError(reply, 409);
    expect(reply.body.details).toEqual([{ path: "body.keys.2.key", message: "The same value as body.keys.0.key" }]);
    expect(await totalIn(base)).toBe(0);
  });

  it("treats values that differ only in case or spacing as different values", async () => {
    const base = newPool();
    const value = providerKey();
    const ids = await importValues(base, [{ key: value }, { key: value.toUpperCase() }, { key: `${value} ` }]);
    expect(new Set(ids).size).toBe(3);
  });

  it("answers 400 to malformed imports and imports nothing", async () => {
    const base = newPool();
    const bad = [
      { keys: [] },
      { keys: [{ key: "" }] },
      { keys: [{ key: "a\u0000b" }] },
      { keys: [{ key: "é".repeat(4097) }] }, // 4,097 characters but 8,194 bytes
      { keys: [{ key: "k", extra: 1 }] },
      { keys: [{ key: "k", label: "" }] },
      { keys: [{ key: "k", label: "tab\there" }] },
      { keys: [{ key: "k", label: "x".repeat(129) }] },
      { keys: [{ key: "k" }], count: 1 },
      { keys: [{ key: "k" }], label: "a" },
      { keys: Array.from({ length: 1001 }, (_, i) => ({ key: `v${i}` })) },
      { keys: [{ key: 42 }] },
    ];
    for (const json of bad) {
      const reply = await call("POST", base, { json });
      expectError(reply, 400);
      expect(JSON.stringify(reply.body)).not.toContain("a\u0000b");
    }
    expectError(await call("GET", `/pools/${base.split("/")[2]}`), 404);
  });

  it("takes a value of exactly 8 KiB, and 1,000 values in one request", async () => {
    const base = newPool();
    expect(await importValues(base, [{ key: "v".repeat(8192) }])).toHaveLength(1);
    const many = Array.from({ length: 1000 }, () => ({ key: providerKey(), label: "bulk" }));
    expect(await importValues(base, many)).toHaveLength(1000);
    expect(await totalIn(base)).toBe(1001);
  });

  it("is for admins only", async () => {
    const base = newPool();
    expectError(await call("POST", base, { json: { keys: [{ key: providerKey() }] }, token: CLIENT_TOKEN }), 403);
  });

  it("with an Idempotency-Key, answers a retry with the same ids, and another import with the key 422", async () => {
    const base = newPool();
    const headers = { "Idempotency-Key": crypto.randomUUID() };
    const json = { keys: [{ key: providerKey() }, { key: providerKey() }] };
    const first = expectOk(await call("POST", base, { json, headers }), 201);
    expect(expectOk(await call("POST", base, { json, headers }), 201)).toEqual(first);
    expect(await totalIn(base)).toBe(2);
    expectError(await call("POST", base, { json: { keys: [{ key: providerKey() }] }, headers }), 422);
  });

  it("keeps no plain digest of an import's values: the stored request digest is keyed", async () => {
    const pool = uniquePool();
    const base = `/pools/${pool}/keys`;
    const json = { keys: [{ key: providerKey() }] };
    expectOk(await call("POST", base, { json, headers: { "Idempotency-Key": "import-1" } }), 201);
    const plain = await sha256(JSON.stringify(["POST", "/keys", null, json]));
    const stored = await storedRequestDigests(pool);
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toEqual(hex(plain));
    // The same described request without values is stored as its plain digest: the two differ by design.
    expectOk(await call("POST", base, { json: { count: 1 }, headers: { "Idempotency-Key": "create-1" } }), 201);
    const described = await sha256(JSON.stringify(["POST", "/keys", null, { count: 1 }]));
    expect(await storedRequestDigests(pool)).toContain(hex(described));
  });

  it("answers 503 naming KEY_ENCRYPTION_KEY when the Worker has none, and makes no pool", async () => {
    const pool = uniquePool();
    const { KEY_ENCRYPTION_KEY: _, ...withoutKey } = env as Env & { KEY_ENCRYPTION_KEY?: string };
    const request = new Request(`http://keypool.test/pools/${pool}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ keys: [{ key: providerKey() }] }),
    });
    const reply = await worker.fetch(
      request as Parameters<typeof worker.fetch>[0],
      withoutKey as Env,
      createExecutionContext(),
    );
    expect(reply.status).toBe(503);
    expect(((await reply.json()) as { error: string }).error).toContain("KEY_ENCRYPTION_KEY");
    expectError(await call("GET", `/pools/${pool}`), 404);
  });
});

describe("labels", () => {
  it("go on generated keys at creation, and an admin sets or removes one later", async () => {
    const base = newPool();
    const [keyId, other] = expectOk(await call("POST", base, { json: { count: 2, label: "batch 7" } }), 201).keyIds;
    expect(expectOk(await call("GET", `${base}/${other}/info`)).label).toBe("batch 7");
    expect(expectOk(await call("PUT", `${base}/${keyId}`, { json: { label: "renamed ✓" } }))).toMatchObject({
      label: "renamed ✓",
      isBlocked: false,
    });
    expect(expectOk(await call("GET", `${base}/${keyId}/info`)).label).toBe("renamed ✓");
    expect(expectOk(await call("PUT", `${base}/${keyId}`, { json: { label: null } })).label).toBeNull();
  });

  it("are an admin's to set: a client, even the holder, gets 403 and nothing changes", async () => {
    const base = newPool();
    await poolWithKey(base);
    const held = expectOk(await call("GET", base, { token: CLIENT_TOKEN }));
    const reply = await call("PUT", `${base}/${held.keyId}`, {
      token: CLIENT_TOKEN,
      json: { label: "mine" },
      headers: holding(held.leaseToken),
    });
    expectError(reply, 403);
    expect(expectOk(await call("GET", `${base}/${held.keyId}/info`)).label).toBeNull();
  });

  it("are changed on their own: with blocked or lease in the same body, 400 and nothing changes", async () => {
    const base = newPool();
    const keyId = await poolWithKey(base);
    for (const json of [{ label: "a", blocked: true }, { label: "a", lease: 1 }, { lease: 1 }, {}]) {
      expectError(await call("PUT", `${base}/${keyId}`, { json }), 400);
    }
    expect(expectOk(await call("GET", `${base}/${keyId}/info`))).toMatchObject({ label: null, isBlocked: false });
  });
});

describe("the log of an import", () => {
  it("is one `imported` entry with the count and ids, never a value", async () => {
    const base = newPool();
    const logged = vi.spyOn(console, "log");
    try {
      const values = [providerKey(), providerKey()];
      const ids = await importValues(
        base,
        values.map((key) => ({ key })),
      );
      const lines = logged.mock.calls.map((args) => args.join(" "));
      const entries = lines.map((line) => JSON.parse(line)).filter((entry) => entry.event === "imported");
      expect(entries).toEqual([{ event: "imported", pool: base.split("/")[2], count: 2, keyIds: ids }]);
      for (const value of values) expect(lines.join("\n")).not.toContain(value);
    } finally {
      logged.mockRestore();
    }
  });
});

async function poolWithKey(base: string): Promise<string> {
  return expectOk(await call("POST", base), 201).keyId;
}

function storedRequestDigests(pool: string): Promise<string[]> {
  return runInDurableObject(env.KEY_POOL.getByName(pool), (_instance, state) =>
    state.storage.sql
      .exec<{ digest: string }>("SELECT lower(hex(request_hash)) AS digest FROM idempotency")
      .toArray()
      .map((row) => row.digest),
  );
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
