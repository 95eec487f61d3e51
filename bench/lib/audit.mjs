/**
 * The audit trail (issue 15): what it adds to each write, what an entry takes on disk, and what
 * reading the trail costs as it grows.
 *
 * - **Writes, in the object**: the same operations on two probe pools, otherwise identical, one with
 *   the trail (the default) and one without (`auditRetentionDays: 0`), each round every operation on
 *   both in turn (which goes first alternates): rows from the object's SQLite counters, CPU net of an
 *   empty loop as in "What it costs", entries counted from the trail itself. The calls carry an actor
 *   with a token's fingerprint, as every call through the HTTP API does.
 * - **Writes, per request**: the same comparison as whole RPCs from the driver, made one after the
 *   other, so each write is a request of its own and commits on its own (in the loop above the writes
 *   of many calls commit together). The target is judged here.
 * - **Bytes per entry**: `databaseSize` grown by many assign + unblock cycles (two keyed entries each)
 *   and by settings changes (the entry with no key), against the pool without the trail.
 * - **Reading**: a page of 100 (the newest, one from the middle of the trail, one of a key's history)
 *   on trails of each size, in the object (rows read, CPU) and over HTTP (`GET /pools/{pool}/audit`).
 */
import { call, emptyLoop, measureOne } from "./costs.mjs";

/** Keys one alarm run expires (ALARM_BATCH, src/key-pool.ts): the entries counted in the trail must agree. */
const ALARM_BATCH = 250;
/** Block + unblock cycles that give one key a history of more than a page (two entries each). */
const HISTORY_CYCLES = 150;
/** Entries on a page read (DEFAULT_AUDIT_PAGE). */
export const AUDIT_PAGE = 100;
const HOUR = 3600;

/** The two pools of each comparison: `on` keeps the trail (the default), `off` keeps none. */
export const TRAILS = ["on", "off"];

/**
 * The writes compared. `per`: operations one call is priced as (per key); the alarm runs on a pair of
 * pools of their own whose keys live a second, so that each run finds a full batch expired. Keep-alive
 * writes no entry: what it shows is the noise of the comparison. `onlyWith`: measured on the pool
 * with the trail alone.
 */
export const AUDIT_OPERATIONS = [
  { id: "create-1", label: "create(1)", requests: 1 },
  { id: "create-1000", label: "create(1000), per key", requests: 1, per: 1000 },
  { id: "assign", label: "assign", requests: 1 },
  { id: "unblock", label: "unblock (by the holder)", requests: 1 },
  { id: "assign-unblock", label: "assign + unblock", requests: 2 },
  { id: "block-unblock", label: "block + unblock", requests: 2 },
  { id: "report-ok-release", label: "report ok, release", requests: 1 },
  { id: "report-rate-limited", label: "report rate_limited (cools the key)", requests: 1 },
  { id: "delete", label: "delete (a free key)", requests: 1 },
  { id: "alarm-expiry", label: `alarm run expiring ${ALARM_BATCH} keys, per key`, requests: 1, per: ALARM_BATCH },
  { id: "keep-alive", label: "keep-alive (writes no entry: the noise)", requests: 1 },
  // What the trail adds, alone: the store appending one keyed entry, in a transaction of its own.
  {
    id: "audit-append",
    label: "one keyed entry written alone (`AuditStore.stage` + `flush`)",
    requests: 0,
    onlyWith: true,
  },
];

/** The pages read, each as the Probe names it. */
export const AUDIT_READS = [
  { id: "audit-page", label: "newest page (`?limit=100`)" },
  { id: "audit-page-middle", label: "a page from the middle (`?after=` a cursor there)" },
  { id: "audit-key-page", label: "a key's history (`?keyId=…&limit=100`)" },
];

/** The writes made as whole requests, one after the other (the driver's `sequence`), with their RPCs per repetition. */
export const AUDIT_SEQUENCES = [
  { id: "create", label: "`POST /keys` (`create(1)`)", requests: 1 },
  { id: "assign-unblock", label: "`GET /keys` + unblock", requests: 2 },
  { id: "block-unblock", label: "`PUT /keys/{id}` block + unblock", requests: 2 },
  { id: "assign-report", label: "`GET /keys` + report `ok`, release", requests: 2 },
];

/**
 * Everything above. `fill(pool, keys)` fills a pool of the production Worker over HTTP and answers a
 * sample of its ids; `run(url, requests)` is one load of the bench's length; `auth` the tokens' headers.
 * `settings`: the run's (`auditCalls`, `costPoolKeys`, `auditCycles`, `auditSettingsChanges`,
 * `auditTrailSizes`, `auditLoadKeys`, `auditSequenceTimes`, `auditSequenceRounds`, `rounds`).
 */
export async function measureAudit({ server, urls, settings, fill, run, auth, log }) {
  const writes = await measureWrites(server, urls.driver, settings);
  log("audit trail: writes in the object measured");
  const storage = await measureStorage(urls.driver, settings);
  log("audit trail: bytes per entry measured");
  const reads = await measureReads(server, urls.driver, settings);
  log("audit trail: reading in the object measured");
  const httpReads = await measureHttpReads(urls, settings, fill, run, auth);
  log("audit trail: reading over HTTP measured");
  const load = await measureSequences(server, urls, settings, fill, auth);
  log("audit trail: writes per request measured");
  return { writes, storage, reads, httpReads, load };
}

/** A probe pool whose keys and blocks outlast the run (or keys that live `keyTtl`), with or without the trail. */
async function probePool(driver, pool, trail, keys, keyTtl = HOUR) {
  const retention = trail === "off" ? "&auditRetentionDays=0" : "";
  await call(`${driver}/probe-settings/${pool}?keyTtl=${keyTtl}&blockTtl=${HOUR}${retention}`, "PUT");
  for (let made = 0; made < keys; made += 1000) {
    await call(`${driver}/probe-add/${pool}?count=${Math.min(1000, keys - made)}`, "POST");
  }
  return { url: driver, pool, source: "generated", prepare: "&actor" };
}

/** Calls per measurement: a create of 1000 keys `times / 100` times, an alarm run `times / 25` times (a batch each). */
function callsOf(op, times) {
  if (op.per === 1000) return Math.max(2, Math.round(times / 100));
  if (op.per === ALARM_BATCH) return Math.max(2, Math.round(times / 25));
  return times;
}

/**
 * Each operation on the pool with the trail and on the pool without, in the same round; a first round
 * is thrown away (the new pools' first calls). Answers, per trail, figures shaped like
 * `measureCosts`'s (so `perOperation` and `netPerRound` read them) and each pool's bytes per key once filled.
 */
async function measureWrites(server, driver, settings) {
  const { auditCalls: times, costPoolKeys: keys, rounds } = settings;
  const subjects = {};
  const filled = {};
  for (const trail of TRAILS) {
    subjects[trail] = await probePool(driver, `audit-${trail}`, trail, keys);
    // Keys that live a second: each alarm run finds a batch expired.
    subjects[`${trail}-alarm`] = await probePool(driver, `audit-${trail}-alarm`, trail, 0, 1);
    filled[trail] = await call(`${driver}/probe-storage/audit-${trail}`, "GET");
  }
  const figures = Object.fromEntries(
    TRAILS.map((trail) => [
      trail,
      {
        keys,
        times,
        baseline: [],
        operations: Object.fromEntries(AUDIT_OPERATIONS.map((op) => [op.id, []])),
      },
    ]),
  );
  for (let round = -1; round < rounds; round++) {
    const order = round % 2 === 0 ? TRAILS : [...TRAILS].reverse();
    for (const trail of order) {
      const empty = await emptyLoop(server, subjects[trail], times);
      if (round >= 0) figures[trail].baseline.push(empty);
    }
    for (const op of AUDIT_OPERATIONS) {
      for (const trail of order.filter((t) => t === "on" || !op.onlyWith)) {
        const subject = subjects[op.id === "alarm-expiry" ? `${trail}-alarm` : trail];
        const measured = await measureOne(server, subject, op.id, callsOf(op, times));
        if (trail === "on" && op.per !== undefined && measured.auditEntries !== measured.calls * op.per) {
          throw new Error(`${op.id}: ${measured.auditEntries} entries for ${measured.calls} calls of ${op.per} keys`);
        }
        if (round >= 0) figures[trail].operations[op.id].push(measured);
      }
    }
  }
  return { ...figures, filled };
}

/**
 * `databaseSize` before and after `auditCycles` assign + unblock cycles (two keyed entries each, as
 * a client acts: the assignment's with its lease and release time, the unblock's with its lease) and
 * `auditSettingsChanges` settings changes (an entry with no key, the settings in force as its detail),
 * on a pool of 1,000 keys with the trail and on one without.
 */
async function measureStorage(driver, settings) {
  const figures = {};
  for (const trail of TRAILS) {
    const subject = await probePool(driver, `audit-bytes-${trail}`, trail, 1000);
    const start = await call(`${driver}/probe-storage/${subject.pool}`, "GET");
    const grow = async (id, total) => {
      let entries = 0;
      let databaseSize = 0;
      for (let done = 0; done < total; ) {
        const calls = Math.min(10_000, total - done);
        const measured = await measureOne(fakeServer, subject, id, calls);
        entries += measured.auditEntries;
        databaseSize = measured.databaseSize;
        done += calls;
      }
      return { calls: total, entries, databaseSize };
    };
    const cycles = await grow("assign-unblock", settings.auditCycles);
    const changes = await grow("settings-change", settings.auditSettingsChanges);
    figures[trail] = { start: start.databaseSize, cycles, changes };
  }
  return figures;
}

/** For measurements whose CPU is not read. */
const fakeServer = { cpuNs: () => 0 };

/**
 * The three pages on a trail of each size (`auditTrailSizes`: keys created, one entry each, and a key
 * given a history of 300 entries), every size in turn within each round, CPU net of the empty loop.
 */
async function measureReads(server, driver, settings) {
  const { auditCalls: times, auditTrailSizes: sizes, rounds } = settings;
  const trails = {};
  for (const size of sizes) {
    const subject = await probePool(driver, `audit-read-${size}`, "on", size);
    const keyId = await call(`${driver}/probe-churn/${subject.pool}/?cycles=${HISTORY_CYCLES}`, "POST");
    const { auditEntries } = await call(`${driver}/probe-storage/${subject.pool}`, "GET");
    trails[size] = {
      subject: { ...subject, prepare: `&key=${keyId}` },
      entries: auditEntries,
      baseline: [],
      operations: {},
    };
    for (const read of AUDIT_READS) trails[size].operations[read.id] = [];
  }
  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      const trail = trails[size];
      trail.baseline.push(await emptyLoop(server, trail.subject, times));
      for (const read of AUDIT_READS)
        trail.operations[read.id].push(await measureOne(server, trail.subject, read.id, times));
    }
  }
  return Object.fromEntries(
    sizes.map((size) => {
      const { subject, ...figures } = trails[size];
      return [size, { ...figures, times }];
    }),
  );
}

/**
 * `GET /pools/{pool}/audit?limit=100` and `?keyId=…&limit=100` through the production Worker, on pools
 * of each trail size filled over HTTP (one `created` entry per key; one key given a history of 300
 * entries through the driver), with the no-op ceiling beside them in each round.
 */
async function measureHttpReads(urls, settings, fill, run, auth) {
  const sizes = settings.auditTrailSizes;
  const targets = {};
  for (const size of sizes) {
    const pool = `audit-http-${size}`;
    const [keyId] = await fill(pool, size);
    for (let i = 0; i < HISTORY_CYCLES; i++) {
      const blocked = await call(`${urls.driver}/block/${pool}/${keyId}?blocked=true`, "PUT");
      if (!blocked.ok) throw new Error(`blocking ${keyId}: ${JSON.stringify(blocked)}`);
      await call(`${urls.driver}/block/${pool}/${keyId}?blocked=false&lease=${blocked.value.lease}`, "PUT");
    }
    const pages = {
      newest: `/pools/${pool}/audit?limit=${AUDIT_PAGE}`,
      key: `/pools/${pool}/audit?keyId=${keyId}&limit=${AUDIT_PAGE}`,
    };
    for (const path of Object.values(pages)) {
      const response = await fetch(`${urls.main}${path}`, { headers: auth.admin });
      const page = await response.json();
      if (!response.ok || page.entries?.length !== AUDIT_PAGE || page.cursor === null) {
        throw new Error(
          `${path}: ${response.status}, not a full page with a cursor: ${JSON.stringify(page).slice(0, 300)}`,
        );
      }
    }
    targets[size] = { pool, pages, entries: size + 1 + 2 * HISTORY_CYCLES };
  }
  const rounds = [];
  for (let round = 0; round < settings.rounds; round++) {
    const figures = {};
    for (const size of sizes) {
      const { pages } = targets[size];
      figures[size] = { noop: await run(urls.driver, [{ method: "GET", path: "/noop" }]) };
      for (const [name, path] of Object.entries(pages)) {
        figures[size][name] = await run(urls.main, [{ method: "GET", path, headers: auth.admin }]);
      }
    }
    rounds.push(figures);
  }
  return { entries: Object.fromEntries(sizes.map((size) => [size, targets[size].entries])), rounds };
}

/**
 * The writes of AUDIT_SEQUENCES as whole RPCs from the driver, one after the other, on a pool of the
 * production Worker with the trail and one without (`PUT /pools/{pool}/settings {"auditRetentionDays":
 * 0}` before it is filled), `auditLoadKeys` keys each: each round makes `auditSequenceTimes` repetitions
 * of each write on both pools in turn (which goes first alternates; a first round is thrown away), and
 * takes workerd's CPU per request (the driver's loop included, the same for both).
 */
async function measureSequences(server, urls, settings, fill, auth) {
  const targets = {};
  for (const trail of TRAILS) {
    const pool = `audit-sequence-${trail}`;
    if (trail === "off") {
      const response = await fetch(`${urls.main}/pools/${pool}/settings`, {
        method: "PUT",
        headers: { ...auth.admin, "content-type": "application/json" },
        body: JSON.stringify({ auditRetentionDays: 0 }),
      });
      if (!response.ok) throw new Error(`settings of ${pool}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }
    await fill(pool, settings.auditLoadKeys);
    targets[trail] = pool;
  }
  const times = settings.auditSequenceTimes;
  const rounds = [];
  for (let round = -1; round < settings.auditSequenceRounds; round++) {
    const order = round % 2 === 0 ? TRAILS : [...TRAILS].reverse();
    const figures = {};
    for (const write of AUDIT_SEQUENCES) {
      figures[write.id] = {};
      for (const trail of order) {
        const before = server.cpuNs();
        const calls = await call(`${urls.driver}/sequence/${targets[trail]}/${write.id}?times=${times}`, "POST");
        if (calls !== times * write.requests) throw new Error(`${write.id}: ${calls} calls for ${times} repetitions`);
        figures[write.id][trail] = { calls, cpuUs: (server.cpuNs() - before) / 1e3 / calls };
      }
    }
    if (round >= 0) rounds.push(figures);
  }
  return { keys: settings.auditLoadKeys, times, rounds };
}
