import { describe, expect, it } from "vitest";
import { METRICS_CONTENT_TYPE, NEXT_CURSOR_COMMENT } from "../../src/http/metrics-text";
import { brokenPool } from "../support/faults";
import { CLIENT_TOKEN, call } from "../support/http";
import { expectError, expectOk, type Reply } from "../support/keys";
import { type ParsedFamily, parseScrape, sampleValue } from "../support/prometheus";

/**
 * `GET /pools/{pool}/metrics` and `GET /metrics`, read with a real parser of the Prometheus text format
 * and compared with what `GET /pools/{pool}` says. Storage is shared by the tests of this file, so each
 * names its pools with a prefix of its own.
 */

function prefix(): string {
  return `m-${crypto.randomUUID().slice(0, 8)}-`;
}

/** The text of a metrics answer, after checking it is one: 200 and the format's content type. */
function scrapeOf(reply: Reply): Map<string, ParsedFamily> {
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  expect(reply.headers.get("content-type")).toBe(METRICS_CONTENT_TYPE);
  expect(typeof reply.body).toBe("string");
  return parseScrape(reply.body);
}

/** A pool with something in every state and every counter moved but `expired` and `released`. */
async function busyPool(pool: string): Promise<void> {
  const { keyIds } = expectOk(await call("POST", `/pools/${pool}/keys`, { json: { count: 6 } }), 201);
  const held = expectOk(await call("GET", `/pools/${pool}/keys`, { token: CLIENT_TOKEN }));
  const others = keyIds.filter((id: string) => id !== held.keyId);
  const report = (keyId: string, outcome: string) =>
    call("POST", `/pools/${pool}/keys/${keyId}/report`, { json: { outcome } });
  expectOk(await report(held.keyId, "ok"));
  expectOk(await report(others[0], "rate_limited"));
  expectOk(await report(others[1], "unauthorized"));
  expectOk(await report(others[2], "error"));
  expectOk(await call("DELETE", `/pools/${pool}/keys/${others[3]}`));
  expectOk(await call("PUT", `/pools/${pool}/keys/${others[4]}`, { json: { disabled: true } }));
}

/** Every series a pool's metrics must have, with its value, from `GET /pools/{pool}`. */
async function seriesFromStats(pool: string): Promise<Array<[string, Record<string, string>, number]>> {
  const { keys, counters, waiting, encryption } = expectOk(await call("GET", `/pools/${pool}`));
  return [
    ["keypool_pool_up", {}, 1],
    ...(["free", "blocked", "cooling", "disabled"] as const).map(
      (state) => ["keypool_keys", { state }, keys[state]] as [string, Record<string, string>, number],
    ),
    ["keypool_waiting_callers", {}, waiting],
    ["keypool_reseal_backlog", {}, encryption.toReseal],
    ["keypool_values_unavailable", {}, encryption.unavailable],
    ["keypool_keys_created_total", {}, counters.created],
    ["keypool_assignments_total", {}, counters.assigned],
    ["keypool_releases_total", {}, counters.released],
    ["keypool_keys_expired_total", {}, counters.expired],
    ["keypool_keys_deleted_total", {}, counters.deleted],
    ["keypool_cooldowns_total", {}, counters.cooled],
    ["keypool_keys_disabled_total", {}, counters.disabled],
    ["keypool_reports_total", { outcome: "ok" }, counters.reportedOk],
    ["keypool_reports_total", { outcome: "rate_limited" }, counters.reportedRateLimited],
    ["keypool_reports_total", { outcome: "unauthorized" }, counters.reportedUnauthorized],
    ["keypool_reports_total", { outcome: "error" }, counters.reportedError],
  ];
}

/** The samples of `pool` in a scrape, family by family. */
function samplesOf(families: Map<string, ParsedFamily>, pool: string): Record<string, unknown[]> {
  return Object.fromEntries(
    [...families].map(([name, family]) => [name, family.samples.filter((sample) => sample.labels.pool === pool)]),
  );
}

/** Every scrape of `GET /metrics?limit=` following the next-page comments, parsed, and the raw texts. */
async function scrapeAll(limit: number): Promise<Array<{ families: Map<string, ParsedFamily>; text: string }>> {
  const pages = [];
  let cursor: string | undefined;
  do {
    const reply = await call("GET", `/metrics?limit=${limit}${cursor === undefined ? "" : `&cursor=${cursor}`}`);
    const families = scrapeOf(reply);
    const text: string = reply.body;
    pages.push({ families, text });
    cursor = text
      .split("\n")
      .find((line) => line.startsWith(`${NEXT_CURSOR_COMMENT} `))
      ?.slice(NEXT_CURSOR_COMMENT.length + 1);
    expect(sampleValue(families, "keypool_directory_truncated", {})).toBe(cursor === undefined ? 0 : 1);
  } while (cursor !== undefined);
  return pages;
}

describe("GET /pools/{pool}/metrics", () => {
  it("answers the pool's counts and counters in the Prometheus text format, each as GET /pools/{pool} says", async () => {
    const pool = `${prefix()}busy`;
    await busyPool(pool);
    const families = scrapeOf(await call("GET", `/pools/${pool}/metrics`));
    const series = await seriesFromStats(pool);
    expect([...families.keys()].sort()).toEqual([...new Set(series.map(([name]) => name))].sort());
    for (const [name, labels, value] of series) {
      expect(sampleValue(families, name, { pool, ...labels }), `${name} ${JSON.stringify(labels)}`).toBe(value);
      expect(families.get(name)?.type, name).toBe(name.endsWith("_total") ? "counter" : "gauge");
    }
    const samples = [...families.values()].reduce((sum, family) => sum + family.samples.length, 0);
    expect(samples).toBe(series.length);
    // The pool really is busy: every state and report outcome is there to be told apart.
    expect(sampleValue(families, "keypool_keys", { pool, state: "blocked" })).toBe(1);
    expect(sampleValue(families, "keypool_keys", { pool, state: "cooling" })).toBe(1);
    expect(sampleValue(families, "keypool_keys", { pool, state: "disabled" })).toBe(2);
    expect(sampleValue(families, "keypool_keys_deleted_total", { pool })).toBe(1);
    expect(sampleValue(families, "keypool_reports_total", { pool, outcome: "unauthorized" })).toBe(1);
  });

  it("answers 404 JSON for a pool nobody made, 403 to a client, 401 without a token", async () => {
    expectError(await call("GET", `/pools/${prefix()}none/metrics`), 404);
    const pool = `${prefix()}p`;
    expectOk(await call("POST", `/pools/${pool}/keys`), 201);
    expectError(await call("GET", `/pools/${pool}/metrics`, { token: CLIENT_TOKEN }), 403);
    expectError(await call("GET", `/pools/${pool}/metrics`, { token: null }), 401);
    expectError(await call("GET", `/pools/${pool}/metrics?x=1`), 400);
  });
});

describe("GET /metrics", () => {
  it("shows every pool of the directory in one scrape, each exactly as GET /pools/{pool}/metrics does", async () => {
    const p = prefix();
    const pools = [`${p}a`, `${p}b`, `${p}c`];
    await busyPool(pools[0] as string);
    expectOk(await call("POST", `/pools/${pools[1]}/keys`, { json: { count: 3 } }), 201);
    expectOk(await call("PUT", `/pools/${pools[2]}/settings`, { json: {} }));

    const reply = await call("GET", "/metrics");
    const families = scrapeOf(reply);
    expect(sampleValue(families, "keypool_directory_truncated", {})).toBe(0);
    expect(reply.body).not.toContain(NEXT_CURSOR_COMMENT);
    for (const pool of pools) {
      const own = scrapeOf(await call("GET", `/pools/${pool}/metrics`));
      const expected = samplesOf(own, pool);
      const { keypool_directory_truncated: _, ...shown } = samplesOf(families, pool);
      expect(shown, pool).toEqual(expected);
      expect(sampleValue(families, "keypool_pool_up", { pool })).toBe(1);
    }
    expect(sampleValue(families, "keypool_keys", { pool: pools[1] as string, state: "free" })).toBe(3);
  });

  it("pages with ?limit= and the next-page comment: every pool exactly once, truncated until the last page", async () => {
    const p = prefix();
    for (const i of [0, 1, 2, 3, 4]) expectOk(await call("POST", `/pools/${p}${i}/keys`), 201);
    const pages = await scrapeAll(2);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    const listed = pages.flatMap(({ families }) =>
      (families.get("keypool_pool_up")?.samples ?? []).map((sample) => sample.labels.pool),
    );
    for (const { families } of pages) expect(families.get("keypool_pool_up")?.samples.length).toBeLessThanOrEqual(2);
    expect(listed, "each pool once, in name order").toEqual([...new Set(listed)].sort());
    expect(listed.filter((pool) => pool?.startsWith(p))).toEqual([0, 1, 2, 3, 4].map((i) => `${p}${i}`));
    // The whole directory, as GET /pools lists it.
    const directory = expectOk(await call("GET", "/pools?limit=100"));
    expect(directory.cursor).toBeNull();
    expect(listed).toEqual(directory.pools.map((entry: { pool: string }) => entry.pool));
  });

  it("shows a pool whose object fails to answer as keypool_pool_up 0 with no other series, and the rest as usual", async () => {
    const p = prefix();
    expectOk(await call("POST", `/pools/${p}a-fine/keys`, { json: { count: 2 } }), 201);
    await brokenPool(`${p}b-broken`);
    const families = scrapeOf(await call("GET", "/metrics"));
    expect(sampleValue(families, "keypool_pool_up", { pool: `${p}a-fine` })).toBe(1);
    expect(sampleValue(families, "keypool_keys", { pool: `${p}a-fine`, state: "free" })).toBe(2);
    expect(sampleValue(families, "keypool_pool_up", { pool: `${p}b-broken` })).toBe(0);
    const { keypool_pool_up, ...rest } = samplesOf(families, `${p}b-broken`);
    expect(keypool_pool_up).toHaveLength(1);
    for (const [name, samples] of Object.entries(rest)) expect(samples, name).toEqual([]);
    // Its own endpoint fails the usual way: JSON.
    expectError(await call("GET", `/pools/${p}b-broken/metrics`), 500);
  });

  it("refuses a limit out of 1..1000, a malformed cursor and unknown parameters as JSON 400s; a client gets 403", async () => {
    for (const query of ["limit=0", "limit=1001", "limit=x", "cursor=%21", `cursor=${"a".repeat(201)}`, "pool=a"]) {
      const reply = await call("GET", `/metrics?${query}`);
      expectError(reply, 400);
      expect(reply.body.details[0].path, query).toMatch(/^query\./);
    }
    expect((await call("GET", "/metrics?limit=1000")).status).toBe(200);
    expectError(await call("GET", "/metrics", { token: CLIENT_TOKEN }), 403);
    expectError(await call("GET", "/metrics", { token: null }), 401);
  });
});
