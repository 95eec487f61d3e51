/**
 * What each pool operation costs the way Cloudflare bills a SQLite-backed Durable Object: the rows
 * read and written and the statements run, from the object's own SQLite counters (src/storage/sql.ts,
 * read by the driver's Probe), the requests it takes, and its duration from the wall time it keeps
 * the object busy; priced per million operations at bench/lib/prices.mjs.
 *
 * Each operation is called many times in a row inside one Probe pool (KeyPool plus counters) whose
 * in-memory free set is already built, so the scan that follows a start is not in any figure (the
 * wake measures it). Row counts do not depend on the pool's size (test/durable/complexity.test.ts).
 */
import { median } from "./load.mjs";
import { DURABLE_OBJECT, WORKER } from "./prices.mjs";

/**
 * `id`: the operation as the Probe names it; `requests`: requests to the object per operation;
 * `per`: operations one call is priced as (a create of 1000 keys, per key); `http`: the load
 * scenario (scenarios.mjs) sending the same requests through the HTTP layer, or `bulk` for the
 * bulk-create figure, from which the Worker's CPU per operation is estimated.
 */
export const COST_OPERATIONS = [
  { id: "create-1", label: "create(1)", requests: 1, http: "POST /keys" },
  { id: "create-1000", label: "create(1000), per key", requests: 1, per: 1000, http: "bulk" },
  { id: "assign", label: "assign", requests: 1 },
  { id: "unblock", label: "unblock (by the holder)", requests: 1 },
  { id: "assign-unblock", label: "assign + unblock", requests: 2, http: "GET /keys + unblock" },
  { id: "block-unblock", label: "block + unblock", requests: 2, http: "PUT /keys/{id} block + unblock" },
  { id: "keep-alive", label: "keep-alive", requests: 1, http: "PUT /keys/{id}/alive" },
  { id: "reveal", label: "reveal", requests: 1, http: "GET /keys/{id}" },
  { id: "info", label: "info", requests: 1, http: "GET /keys/{id}/info" },
  { id: "delete", label: "delete (a free key)", requests: 1 },
  { id: "stats", label: "stats (`GET /pools/{pool}`)", requests: 1 },
  { id: "list", label: "a listing page (all keys, 100)", requests: 1 },
  { id: "assign-idempotent", label: "assign, idempotent", requests: 1 },
  { id: "assign-replayed", label: "assign, idempotent replay", requests: 1 },
];

/** How long blocks and keys last in the cost pool: nothing expires or comes due while it is measured. */
const HOUR = 3600;
/** Keys on a listing page the Probe asks for (DEFAULT_LIST_LIMIT, src/pool/limits.ts). */
const LIST_PAGE = 100;

/**
 * Fills a Probe pool with `keys` keys, then, `rounds` times, measures every operation `times` times
 * (a create of 1000 keys, `times / 50` times; pages, as many full ones as `keys` holds, up to `times`)
 * and the loop with no operation, whose wall and CPU time
 * (the RPC and HTTP hop around the loop) every operation's is taken net of.
 */
export async function measureCosts({ server, driver, pool, keys, times, rounds }) {
  await call(`${driver}/probe-settings/${pool}?keyTtl=${HOUR}&blockTtl=${HOUR}`, "PUT");
  for (let made = 0; made < keys; made += 1000) await call(`${driver}/probe-create/${pool}?count=1000`, "POST");
  const operations = Object.fromEntries(COST_OPERATIONS.map((op) => [op.id, []]));
  const baseline = [];
  for (let round = 0; round < rounds; round++) {
    // A hiccup only ever adds time: the fastest of three empty loops is the RPC's own.
    const empty = [];
    for (let i = 0; i < 3; i++) empty.push(await measureOne(server, driver, pool, "none", times));
    baseline.push(empty.reduce((a, b) => (b.wallMs < a.wallMs ? b : a)));
    for (const op of COST_OPERATIONS) {
      operations[op.id].push(await measureOne(server, driver, pool, op.id, callsOf(op, times, keys)));
    }
  }
  return { pool, keys, times, baseline, operations };
}

function callsOf(op, times, keys) {
  if (op.id === "create-1000") return Math.max(2, Math.round(times / 50));
  // Every page a full one: each measurement lists from the start, and the pool holds at least `keys`.
  if (op.id === "list") return Math.min(times, Math.floor(keys / LIST_PAGE) - 1);
  return times;
}

async function measureOne(server, driver, pool, id, calls) {
  await call(`${driver}/probe-prepare/${pool}/${id}?times=${calls}`, "POST");
  const cpuBefore = server.cpuNs();
  const wallBefore = performance.now();
  const counted = await call(`${driver}/probe-measure/${pool}/${id}`, "POST");
  const wallMs = performance.now() - wallBefore;
  return { calls, ...counted, wallMs, cpuMs: (server.cpuNs() - cpuBefore) / 1e6 };
}

async function call(url, method) {
  const response = await fetch(url, { method });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

/**
 * One operation's figures, medians over the rounds: statements and rows per operation (the same every
 * round: they are deterministic), and the wall and CPU microseconds the object spent on it.
 */
export function perOperation(costs, op) {
  const per = op.per ?? 1;
  const rounds = costs.operations[op.id] ?? [];
  const each = (field) => median(rounds.map((r) => r[field] / r.calls / per));
  const net = (field) =>
    median(rounds.map((r, i) => (Math.max(0, r[field] - (costs.baseline[i]?.[field] ?? 0)) * 1000) / r.calls / per));
  const spread = (field) => new Set(rounds.map((r) => r[field] / r.calls)).size > 1;
  return {
    requests: op.requests / per,
    statements: each("statements"),
    rowsRead: each("rowsRead"),
    rowsWritten: each("rowsWritten"),
    wallUs: net("wallMs"),
    cpuUs: net("cpuMs"),
    varies: ["statements", "rowsRead", "rowsWritten"].some(spread),
  };
}

/** Dollars per million operations of a Durable Object, by what Cloudflare bills. */
export function objectPrice(figures) {
  const parts = {
    requests: figures.requests * DURABLE_OBJECT.requests,
    rowsWritten: figures.rowsWritten * DURABLE_OBJECT.rowsWritten,
    rowsRead: figures.rowsRead * DURABLE_OBJECT.rowsRead,
    // A million operations of `wallUs` each keep the object busy `wallUs` seconds, at its 128 MB.
    duration: figures.wallUs * DURABLE_OBJECT.memoryGb * DURABLE_OBJECT.gbSeconds * 1e-6,
  };
  return { ...parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}

/**
 * Dollars per million operations of the Worker in front: its requests, and its CPU estimated as
 * workerd's CPU per HTTP request (`httpCpuUs`, the load scenario's) less the object's own; null CPU
 * when no scenario sends the operation over HTTP.
 */
export function workerPrice(figures, httpCpuUs) {
  const requests = figures.requests * WORKER.requests;
  if (!Number.isFinite(httpCpuUs)) return { requests, cpu: null, total: null };
  const cpuMs = Math.max(0, httpCpuUs - figures.cpuUs) / 1000;
  const cpu = cpuMs * WORKER.cpuMs;
  return { requests, cpu, cpuMs, total: requests + cpu };
}
