import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { expect, it } from "vitest";
import type { KeyPool } from "../../src/key-pool";
import { type PoolSnapshot, snapshot } from "../support/durable-pool";
import { ADMIN_TOKEN, CLIENT_TOKEN, uniquePool } from "../support/http";
import { expectDetailsShape } from "../support/keys";
import { addKeys } from "../support/pool";
import { scaled } from "../support/scale";

const ORIGIN = "http://keypool.test";

/** A pool with free and blocked keys for the fuzzer to aim at, and its ids and leases. */
async function seededPool() {
  const name = uniquePool();
  const stub = env.KEY_POOL.getByName(name) as DurableObjectStub<KeyPool>;
  // Enough keys that the fuzzer's successful deletes and assignments do not use them all up.
  const ids = await addKeys(stub, 400);
  const leases: number[] = [];
  for (let i = 0; i < 100; i++) {
    const held = await stub.assign();
    if (held.ok) leases.push(held.value.lease);
  }
  return { name, stub, ids, leases };
}

type Seed = Awaited<ReturnType<typeof seededPool>>;

/** Path segments that name real things, almost-real things, and nothing at all. */
function segment(seed: Seed): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...seed.ids) },
    { weight: 2, arbitrary: fc.constantFrom(...seed.ids).map((id) => id.toUpperCase()) },
    { weight: 2, arbitrary: fc.uuid() },
    {
      weight: 3,
      arbitrary: fc.constantFrom("info", "alive", "keys", "", ".", "..", "%2e%2e", "%2F", "%00", "%", "%zz"),
    },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
    {
      weight: 1,
      arbitrary: fc.string({ minLength: 1000, maxLength: 9000, unit: "grapheme-ascii" }).map(encodeURIComponent),
    },
  );
}

function path(seed: Seed): fc.Arbitrary<string> {
  const base = `/pools/${seed.name}/keys`;
  // Mostly well-formed routes on the seeded pool, so requests reach the pool's own refusals.
  const routed = fc
    .tuple(fc.constantFrom(...seed.ids), fc.constantFrom("", "/info", "/alive", "/", "/info/x"))
    .map(([id, tail]) => `${base}/${id}${tail}`);
  const prefix = fc.oneof(
    { weight: 3, arbitrary: fc.constant(base) },
    { weight: 1, arbitrary: fc.constant("/keys") },
    {
      weight: 1,
      arbitrary: fc.constantFrom("/pools/keys", "/pools//keys", "/pools/a%2Fb/keys", `/pools/${"p".repeat(65)}/keys`),
    },
    { weight: 1, arbitrary: fc.constantFrom("", "/", "//keys", "/keys/", "/KEYS", "/docs", "/openapi.json", "/pools") },
  );
  const chaos = fc
    .tuple(prefix, fc.array(segment(seed), { maxLength: 4 }))
    .map(([p, segments]) => [p, ...segments].join("/"));
  const query = fc.oneof(
    { weight: 5, arbitrary: fc.constant("") },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom(...seed.leases.map(String), "0", "-1", "1.5", "abc", "", "1e400", "9007199254740993"),
          fc.string(),
        )
        .map((lease) => `?lease=${encodeURIComponent(lease)}`),
    },
    { weight: 1, arbitrary: fc.constantFrom("?lease=1&lease=2", "?other=1", "?lease", "?&&", "?lease=%ff") },
  );
  return fc
    .tuple(
      fc.oneof(
        { weight: 3, arbitrary: routed },
        { weight: 1, arbitrary: fc.constant(base) },
        { weight: 2, arbitrary: chaos },
      ),
      query,
    )
    .map(([p, q]) => p + q);
}

const nested = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);

/** Bodies: valid and invalid shapes, wrong types, broken JSON and encodings, huge and deeply nested. */
const body: fc.Arbitrary<string | Uint8Array | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  // Valid bodies too, so a share of requests gets through to the pool and changes it.
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.record({ count: fc.integer({ min: 1, max: 5 }) }),
        fc.record({ blocked: fc.boolean() }),
        fc.record({ blocked: fc.boolean(), lease: fc.integer({ min: 1, max: 200 }) }),
      )
      .map((value) => JSON.stringify(value)),
  },
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          count: fc.oneof(
            fc.integer({ min: -5, max: 1005 }),
            fc.double(),
            fc.string(),
            fc.constant(null),
            fc.jsonValue(),
          ),
          blocked: fc.oneof(fc.boolean(), fc.constantFrom("true", "false", 0, 1, null), fc.jsonValue()),
          lease: fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1.5, 2 ** 53, "1", null), fc.jsonValue()),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value)),
  },
  { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme" }) },
  {
    weight: 2,
    arbitrary: fc.jsonValue().map((value) => {
      const text = JSON.stringify(value);
      return text.slice(0, Math.max(0, text.length - 1)) || "{";
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('{"count": 1e309}', '{"blocked": true,}', "{'blocked': true}", "\uFEFF{}", "null"),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constantFrom(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), new Uint8Array([0xc3, 0x28])) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      nested(5_000, "[", "]"),
      nested(40_000, "[", "]"),
      `{"count": ${nested(10_000, "[", "]")}}`,
      `{"blocked": true, "lease": ${nested(3_000, '{"a":', "}").replace(/}$/, "1}")}}`,
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(64 * 1024 - 20, 64 * 1024 + 1, 300_000)
      .map((n) => `{"count": 1, "pad": "${"x".repeat(n)}"}`),
  },
);

const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constant("application/json") },
  fc.constantFrom(
    undefined,
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/problem+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
    "json",
  ),
  fc.string({ maxLength: 30 }),
);

const method = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("GET", "GET", "POST", "POST", "PUT", "PUT", "PUT", "DELETE") },
  { weight: 1, arbitrary: fc.constantFrom("PATCH", "HEAD", "OPTIONS", "TRACE", "put", "get", "PROPFIND") },
);

/** Mostly the admin token, so requests reach the pool; sometimes a client's, none, or a broken header. */
const authorization = fc.oneof(
  { weight: 12, arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN}`) },
  { weight: 2, arbitrary: fc.constant(`Bearer ${CLIENT_TOKEN}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(undefined, "", "Bearer", "Bearer ", `bearer ${ADMIN_TOKEN}`, `Basic ${ADMIN_TOKEN}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 600 }).map((token) => `Bearer ${token}`) },
);

interface FuzzRequest {
  authorization: string | undefined;
  method: string;
  path: string;
  contentType: string | undefined;
  contentLength: string | undefined;
  body: string | Uint8Array | undefined;
}

function toRequest(r: FuzzRequest): Request | null {
  const headers = new Headers();
  try {
    if (r.authorization !== undefined) headers.set("authorization", r.authorization);
    if (r.contentType !== undefined) headers.set("content-type", r.contentType);
    if (r.contentLength !== undefined) headers.set("content-length", r.contentLength);
    const hasBody = r.body !== undefined && !["GET", "HEAD"].includes(r.method.toUpperCase());
    return new Request(ORIGIN + r.path, { method: r.method, headers, body: hasBody ? r.body : undefined });
  } catch {
    return null; // not a request a client could send (e.g. a header value with a newline)
  }
}

function comparable(s: PoolSnapshot): unknown {
  return { rows: s.rows, free: [...s.free].sort(), leaseSeq: s.leaseSeq, stats: s.stats, alarm: s.alarm };
}

it("answers every fuzzed request without a 5xx, with a JSON error for every 4xx, and a rejected request changes nothing", async () => {
  const seed = await seededPool();
  const stats = { requests: 0, rejected: 0, byStatus: new Map<number, number>() };
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        authorization,
        method,
        path: path(seed),
        contentType,
        contentLength: fc.oneof(
          { weight: 6, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom("0", "1", "65537", "999999999", "-1", "abc") },
        ),
        body,
      }),
      async (r) => {
        const request = toRequest(r);
        fc.pre(request !== null);
        const before = comparable(await snapshot(seed.stub));
        const response = await exports.default.fetch(request as Request);
        const text = await response.text();
        stats.requests++;
        stats.byStatus.set(response.status, (stats.byStatus.get(response.status) ?? 0) + 1);
        expect(response.status, `${r.method} ${r.path.slice(0, 200)} -> ${text.slice(0, 300)}`).toBeLessThan(500);
        if (response.status >= 400) {
          stats.rejected++;
          expect(response.headers.get("content-type")).toMatch(/^application\/json/);
          if (r.method.toUpperCase() !== "HEAD") {
            const parsed = JSON.parse(text);
            expect(typeof parsed.error === "string" && parsed.error.length > 0, text).toBe(true);
            expectDetailsShape(parsed);
          }
          expect(comparable(await snapshot(seed.stub)), `${r.method} ${r.path.slice(0, 200)} changed the pool`).toEqual(
            before,
          );
        }
      },
    ),
    { numRuns: scaled(1000) },
  );
  console.log(
    `fuzz: ${stats.requests} requests, ${stats.rejected} rejected; statuses ${JSON.stringify([...stats.byStatus].sort())}`,
  );
  // The fuzzer must reach the pool, not only the router: the common answers each come up, and the
  // rarer refusals (blocked, lease conflict, too large, wrong type) together.
  const count = (status: number) => stats.byStatus.get(status) ?? 0;
  for (const status of [200, 400, 401, 404, 405]) expect(count(status), `status ${status}`).toBeGreaterThan(0);
  expect(count(403) + count(409) + count(413) + count(415)).toBeGreaterThan(0);
}, 300_000);
