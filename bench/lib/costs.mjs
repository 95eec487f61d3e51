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
 * bulk-create figure, from which the Worker's CPU per operation is estimated; `pool: "dry"`: measured
 * on a second probe pool of as many keys, none of them free (the driver's `Probe.dryUp`).
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
  // Key health (issue 14): reports by the holder, an admin's disable and enable (`PUT {"disabled"}`).
  { id: "report-ok-release", label: "report ok, release (by the holder)", requests: 1 },
  { id: "report-rate-limited", label: "report rate_limited (cools the key)", requests: 1 },
  { id: "report-error", label: "report error (a failure counted, key kept)", requests: 1 },
  { id: "disable", label: "disable (a free key)", requests: 1 },
  { id: "enable", label: "enable", requests: 1 },
  // On a pool of as many keys with none free (half blocked, half cooling).
  {
    id: "none-free",
    label: "assign, none free (404 + Retry-After)",
    requests: 1,
    pool: "dry",
    http: "GET /keys, none free",
  },
  {
    id: "handoff",
    label: "a waiting assign + the release that hands it the key",
    requests: 2,
    pool: "dry",
  },
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
  const subject = { url: driver, pool, source: "generated" };
  await fill(subject, keys);
  const dry = { ...subject, pool: `${pool}-dry` };
  await fill(dry, keys);
  await call(`${driver}/probe-dry/${dry.pool}?limit=${keys}`, "POST");
  const operations = Object.fromEntries(COST_OPERATIONS.map((op) => [op.id, []]));
  const baseline = [];
  for (let round = 0; round < rounds; round++) {
    baseline.push(await emptyLoop(server, subject, times));
    for (const op of COST_OPERATIONS) {
      const on = op.pool === "dry" ? dry : subject;
      operations[op.id].push(await measureOne(server, on, op.id, callsOf(op, times, keys)));
    }
  }
  return { pool, keys, times, baseline, operations };
}

/**
 * The pools encryption at rest is measured on, each a probe pool of its own: `worker` is the Worker
 * whose Probe hosts it (`plain`: the driver's bundle served without KEY_ENCRYPTION_KEY), `source`
 * how its keys are made.
 */
export const ENCRYPTION_SUBJECTS = [
  { id: "plain", label: "generated, stored as they are (no KEY_ENCRYPTION_KEY)", worker: "plain", source: "generated" },
  { id: "sealed", label: "generated, sealed (AES-256-GCM)", worker: "driver", source: "generated" },
  { id: "imported", label: "imported (50-100 characters), sealed", worker: "driver", source: "imported" },
];

/**
 * What is compared across those pools; `subjects` limits an operation to some of them (an imported
 * key is revealed only to its holder; only an import makes imported keys). Keep-alive opens no value
 * (it rewrites the row, a sealed value in it): how far its CPU differs between pools is what the
 * larger row and chance give the others too. `bulk`
 * operations add thousands of keys per call: each pool has a second one for them, so that the pool
 * the others are measured on stays the size it was filled to.
 */
export const ENCRYPTION_OPERATIONS = [
  {
    id: "create-1000",
    label: "create(1000), per key",
    requests: 1,
    per: 1000,
    subjects: ["plain", "sealed"],
    bulk: true,
  },
  {
    id: "import-1000",
    label: "importKeys(1000 values), per key",
    requests: 1,
    per: 1000,
    subjects: ["imported"],
    bulk: true,
  },
  // The part of the two above done before the transaction, alone: nothing stored, no request.
  {
    id: "seal-1000",
    label: "of which sealing 1000 new values, per key",
    requests: 0,
    per: 1000,
    subjects: ["sealed"],
  },
  {
    id: "seal-import-1000",
    label: "of which sealing and fingerprinting 1000 values, per key",
    requests: 0,
    per: 1000,
    subjects: ["imported"],
  },
  // All that differs between an assignment (or a reveal) of a sealed key and of a plain one, alone.
  { id: "open-1000", label: "opening a stored value (in assign and reveal), per value", requests: 0, per: 1000 },
  { id: "assign", label: "assign (answers the value opened)", requests: 1 },
  { id: "unblock", label: "unblock (by the holder)", requests: 1 },
  { id: "assign-unblock", label: "assign + unblock", requests: 2 },
  { id: "reveal", label: "reveal", requests: 1, subjects: ["plain", "sealed"] },
  { id: "delete", label: "delete (a free key)", requests: 1 },
  { id: "keep-alive", label: "keep-alive (opens no value)", requests: 1 },
];

export const subjectsOf = (op) => op.subjects ?? ENCRYPTION_SUBJECTS.map((subject) => subject.id);

/**
 * The same operations on generated keys stored as they are, generated keys sealed and imported keys,
 * `keys` keys in each pool. Each round takes every pool's empty loop, then each operation on each
 * pool in turn, so the figures compared are taken seconds apart; which pool goes first moves round
 * by round. A first round is thrown away: the plain Worker's code has not run before it (the driver's
 * has, for the costs), and each is compiled as it warms. `urls`: the Worker of each subject.
 */
export async function measureEncryption({ server, urls, keys, times, rounds }) {
  const subjects = ENCRYPTION_SUBJECTS.map((subject) => ({
    ...subject,
    url: urls[subject.worker],
    pool: `encryption-${subject.id}`,
  }));
  for (const subject of subjects) {
    await fill(subject, keys);
    await fill({ ...subject, pool: `${subject.pool}-bulk` }, 0);
  }
  const figures = Object.fromEntries(
    subjects.map((subject) => [
      subject.id,
      {
        pool: subject.pool,
        keys,
        times,
        baseline: [],
        operations: Object.fromEntries(
          ENCRYPTION_OPERATIONS.filter((op) => subjectsOf(op).includes(subject.id)).map((op) => [op.id, []]),
        ),
      },
    ]),
  );
  for (let round = -1; round < rounds; round++) {
    const first = Math.max(0, round) % subjects.length;
    const order = [...subjects.slice(first), ...subjects.slice(0, first)];
    for (const subject of order) {
      const empty = await emptyLoop(server, subject, times);
      if (round >= 0) figures[subject.id].baseline.push(empty);
    }
    for (const op of ENCRYPTION_OPERATIONS) {
      for (const subject of order.filter((s) => subjectsOf(op).includes(s.id))) {
        const pool = op.bulk ? `${subject.pool}-bulk` : subject.pool;
        const measured = await measureOne(server, { ...subject, pool }, op.id, callsOf(op, times, keys));
        if (round >= 0) figures[subject.id].operations[op.id].push(measured);
      }
    }
  }
  return { keys, times, subjects: figures };
}

/** A probe pool whose blocks and keys outlast the run, with `keys` keys of the subject's source. */
export async function fill({ url, pool, source }, keys) {
  await call(`${url}/probe-settings/${pool}?keyTtl=${HOUR}&blockTtl=${HOUR}`, "PUT");
  for (let made = 0; made < keys; made += 1000)
    await call(`${url}/probe-add/${pool}?count=1000&source=${source}`, "POST");
}

/** A hiccup only ever adds time: the fastest of three empty loops is the RPC's own. */
export async function emptyLoop(server, subject, times) {
  const empty = [];
  for (let i = 0; i < 3; i++) empty.push(await measureOne(server, subject, "none", times));
  return empty.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
}

function callsOf(op, times, keys) {
  if (op.per === 1000) return Math.max(2, Math.round(times / 50));
  // Every page a full one: each measurement lists from the start, and the pool holds at least `keys`.
  if (op.id === "list") return Math.min(times, Math.floor(keys / LIST_PAGE) - 1);
  return times;
}

/** `prepare`: more of the prepare's query (`&actor`, `&key=`), as the driver's `probe-prepare` route reads it. */
export async function measureOne(server, { url, pool, source, prepare = "" }, id, calls) {
  await call(`${url}/probe-prepare/${pool}/${id}?times=${calls}&source=${source}${prepare}`, "POST");
  const cpuBefore = server.cpuNs();
  const wallBefore = performance.now();
  const counted = await call(`${url}/probe-measure/${pool}/${id}`, "POST");
  const wallMs = performance.now() - wallBefore;
  return { calls, ...counted, wallMs, cpuMs: (server.cpuNs() - cpuBefore) / 1e6 };
}

export async function call(url, method) {
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
  const net = (field) => median(netPerRound(costs, op, field));
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

/** An operation's wall or CPU microseconds (`field`: `wallMs`, `cpuMs`), net of the empty loop, in each round. */
export function netPerRound(costs, op, field) {
  const per = op.per ?? 1;
  return (costs.operations[op.id] ?? []).map(
    (r, i) => (Math.max(0, r[field] - (costs.baseline[i]?.[field] ?? 0)) * 1000) / r.calls / per,
  );
}

/**
 * What `subject` costs more than `than` per operation in CPU µs: the median of the differences
 * round by round (each pair taken seconds apart), so that the machine's drift between rounds cancels.
 */
export function cpuDifference(encryption, op, subject, than) {
  const a = netPerRound(encryption.subjects[subject], op, "cpuMs");
  const b = netPerRound(encryption.subjects[than], op, "cpuMs");
  return median(a.map((value, i) => value - (b[i] ?? Number.NaN)));
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
