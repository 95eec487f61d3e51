/**
 * `npm run bench`: KeyPool against the platform's own ceilings, on the workerd binary itself.
 *
 * Builds the production Worker and a driver Worker (RPC without router or validation, plus the
 * ceilings: a no-op RPC, a one-row read and a one-row write) with `wrangler deploy --dry-run`, serves
 * them from one `workerd serve` with SQLite Durable Object storage in a temporary directory, and
 * drives them over loopback with autocannon at fixed concurrency for a fixed time. Also reads what
 * each operation costs as Cloudflare bills it (rows read and written from SQLite's own counters,
 * priced at bench/lib/prices.mjs) and what waking each filled pool costs (workerd restarted on the
 * same storage). Prints a markdown report (BENCHMARKS.md holds three, with analysis;
 * `node bench/summarize.mjs` takes the median of several runs' --json output).
 *
 * The audit trail's cost (issue 15) is measured against pools that keep none (bench/lib/audit.mjs).
 *
 * Values are sealed as in a deployment with encryption at rest: the Workers get a KEY_ENCRYPTION_KEY
 * made for the run (random, never stored). Imports, and the same operations on a pool without the key
 * (the driver's bundle served once more without it, as the `plain` Worker), are measured against that.
 *
 *   npm run bench                       full run: pools of 1k, 100k and 1M keys, 3 rounds (~12 min)
 *   npm run bench -- --quick            smoke run in seconds: checks it all works, timings mean little
 *   options: --rounds N --seconds S --connections C --sizes 1000,100000 --out FILE --json FILE
 *            --port P (first of the loopback ports it serves on: P, P+1, P+2 and P+10; default 9100)
 *            --unencrypted (no KEY_ENCRYPTION_KEY anywhere: the whole run as before encryption;
 *            imports are refused then, so neither they nor the comparison are measured)
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { measureAudit } from "./lib/audit.mjs";
import { call, emptyLoop, measureCosts, measureEncryption, measureOne } from "./lib/costs.mjs";
import { jsonHeaders, load, median, percentile } from "./lib/load.mjs";
import { report } from "./lib/report.mjs";
import { CEILINGS, OPERATIONS, PAIRS } from "./lib/scenarios.mjs";
import { measureWake } from "./lib/wake.mjs";
import { build, readWranglerToml, Workerd, workerdVersion, writeConfig } from "./lib/workerd.mjs";
// The driver's own generator of provider-key-like values (erasable TypeScript: Node runs it as it is).
import { importEntries } from "./workers/values.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    seconds: { type: "string" },
    connections: { type: "string" },
    sizes: { type: "string" },
    out: { type: "string" },
    json: { type: "string" },
    port: { type: "string" },
    unencrypted: { type: "boolean", default: false },
  },
});
const basePort = Number(flags.port ?? 9100);
const PORTS = { main: basePort, driver: basePort + 1, plain: basePort + 2, coldStart: basePort + 10 };
const quick = flags.quick;
const settings = {
  // As typed, for the report's first line.
  command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" "),
  quick,
  rounds: Number(flags.rounds ?? (quick ? 1 : 3)),
  seconds: Number(flags.seconds ?? (quick ? 0.2 : 1)),
  connections: Number(flags.connections ?? 10),
  sizes: (flags.sizes ?? (quick ? "1000" : "1000,100000,1000000")).split(",").map(Number),
  encrypted: !flags.unencrypted,
  bulkSeconds: quick ? 0.5 : 2,
  alarmKeys: quick ? 2_000 : 100_000,
  coldStarts: quick ? 1 : 5,
  // Each operation's cost: calls per measurement, on a Probe pool of this many keys.
  costCalls: quick ? 20 : 300,
  costPoolKeys: quick ? 2_000 : 20_000,
  // Assignments that find no key free per in-object measurement of the earliest-free probe: ~15 µs each.
  probeCalls: quick ? 100 : 2000,
  // The encryption comparison's calls per measurement: more, since the differences it looks for are
  // tens of microseconds. Its pools hold costPoolKeys keys each.
  encryptionCalls: quick ? 20 : 1000,
  // The audit trail (issue 15): calls per measurement of a write with and without it, and of a page read
  // (on probe pools of costPoolKeys keys); assign + unblock cycles and settings changes whose entries
  // are weighed; the sizes of the trails pages are read from; the keys of the pools written under load.
  // Calls per measurement: more than costCalls, since the differences looked for are tens of microseconds.
  auditCalls: quick ? 20 : 1000,
  auditCycles: quick ? 1_000 : 100_000,
  auditSettingsChanges: quick ? 100 : 10_000,
  auditTrailSizes: quick ? [1_000, 10_000] : [1_000, 100_000],
  auditLoadKeys: quick ? 1_000 : 10_000,
  // The writes per request, made one after the other: repetitions per round, and rounds (more than
  // `rounds`: the target is judged on them, and a round moves by tens of microseconds).
  auditSequenceTimes: quick ? 20 : 1_000,
  auditSequenceRounds: quick ? 1 : 9,
  // Requests timed after each first request of a wake, for the warm figure.
  wakeWarmCalls: quick ? 3 : 20,
  // Keys outlive the run, so a pool's size stays what it says; the alarm is measured on its own.
  keyTtlSeconds: "3600",
  // The alarm probe's keys expire one second after creation, all due by the time the bench runs it.
  probeTtlSeconds: "1",
};
const SAMPLE = 10_000; // ids kept per pool to draw random targets from

// Fresh tokens for this run, configured as the Worker's secrets; HTTP requests present them.
const token = () => randomBytes(32).toString("base64url");
const TOKENS = { ADMIN_TOKEN: token(), CLIENT_TOKEN: token() };
// The run's encryption key, as `openssl rand -base64 32` makes one: a Worker var, like a secret.
const ENCRYPTION = settings.encrypted ? { KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64") } : {};
const AUTH = {
  admin: { authorization: `Bearer ${TOKENS.ADMIN_TOKEN}` },
  client: { authorization: `Bearer ${TOKENS.CLIENT_TOKEN}` },
};

const log = (...args) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

const work = mkdtempSync(join(tmpdir(), "keypool-bench-"));
let server;
try {
  const results = await main();
  const markdown = report(results);
  console.log(markdown);
  if (flags.out) writeFileSync(flags.out, markdown);
  if (flags.json) writeFileSync(flags.json, JSON.stringify(results, null, 2));
} finally {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
}

async function main() {
  const started = Date.now();
  const loadBefore = loadavg();
  // Another run on a shared machine could hold a port, and the load would then measure its server.
  for (const port of Object.values(PORTS)) await assertFree(port);
  log(`building into ${work}`);
  const [main, driver] = await Promise.all([
    build(ROOT, join(work, "main")),
    build(ROOT, join(work, "driver"), "bench/workers/driver.ts"),
  ]);
  const bundles = { main, driver };
  const toml = readWranglerToml(ROOT);
  const plainVars = { ...toml.vars, KEY_TTL_SECONDS: settings.keyTtlSeconds };
  const vars = { ...plainVars, ...ENCRYPTION };
  // What the production Worker needs besides [vars]: its token secrets and a rate limiter binding.
  const httpWorker = { vars: { ...vars, ...TOKENS }, rateLimiter: "RATE_LIMITER" };

  const storage = join(work, "storage");
  mkdirSync(storage);
  const config = writeConfig(
    work,
    toml,
    [
      {
        name: "main",
        module: bundles.main,
        port: PORTS.main,
        ...httpWorker,
        durableObjects: [
          { binding: "KEY_POOL", className: "KeyPool" },
          { binding: "POOL_DIRECTORY", className: "PoolDirectory" },
        ],
      },
      {
        name: "driver",
        module: bundles.driver,
        port: PORTS.driver,
        vars: { ...vars, KEY_TTL_SECONDS: settings.probeTtlSeconds },
        durableObjects: [
          { binding: "KEY_POOL", className: "KeyPool", service: "main" },
          { binding: "CEILING", className: "Ceiling", service: "ceiling" },
          { binding: "ID_ORDER", className: "IdOrder", service: "ceiling" },
          { binding: "PROBE", className: "Probe" },
          // The probe pools register in the production Worker's directory when they are made.
          { binding: "POOL_DIRECTORY", className: "PoolDirectory", service: "main" },
        ],
      },
      {
        // The driver's bundle again, without an encryption key: its probe pools store values as they are.
        name: "plain",
        module: bundles.driver,
        port: PORTS.plain,
        vars: plainVars,
        durableObjects: [
          { binding: "PROBE", className: "Probe" },
          { binding: "POOL_DIRECTORY", className: "PoolDirectory", service: "main" },
        ],
      },
      {
        // The ceilings live in a Worker of their own, so the driver reaches them across services
        // exactly as it reaches the production Worker's pools.
        name: "ceiling",
        module: bundles.driver,
        vars,
        durableObjects: [
          { binding: "CEILING", className: "Ceiling" },
          { binding: "ID_ORDER", className: "IdOrder" },
        ],
      },
    ],
    storage,
  );
  const urls = {
    main: `http://127.0.0.1:${PORTS.main}`,
    driver: `http://127.0.0.1:${PORTS.driver}`,
    plain: `http://127.0.0.1:${PORTS.plain}`,
  };
  const start = async () => {
    server = new Workerd(config);
    await server.ready(`${urls.driver}/noop`);
    log(`workerd ${workerdVersion} serving (pid ${server.pid})`);
  };
  await start();
  const run = (url, requests, seconds = settings.seconds, warmup = false) =>
    load(server, { url, requests, connections: settings.connections, seconds, warmup });

  // Every pool is filled first, so the wake measures each at exactly its size (the load adds keys).
  // Each size also gets a pool of its own with no key free (`dryUp` below), for the earliest-free probe
  // and the handoff to a waiting caller.
  const fills = [];
  for (const size of settings.sizes) {
    const pool = `p${size}`;
    const fill = await fillPool(urls.main, pool, size);
    log(`pool ${pool}: ${size} keys in ${fill.seconds.toFixed(1)} s (${Math.round(size / fill.seconds)} keys/s)`);
    const dry = { pool: `d${size}`, fillSeconds: (await fillPool(urls.main, `d${size}`, size)).seconds };
    fills.push({ size, pool, ...fill, dry });
  }
  await server.stop();
  const probeConfig = wakeConfig(bundles, toml, vars, storage);
  const wake = await measureWake({
    config: probeConfig,
    driver: urls.driver,
    pools: fills.map(({ size, pool, ids }) => ({ size, name: pool, keyId: ids[0] })),
    warmCalls: settings.wakeWarmCalls,
    log,
  });
  const probeObject = await dryUp(probeConfig, urls.driver, fills);
  await start();

  const pools = [];
  for (const [index, { size, pool, ids, seconds, dry }] of fills.entries()) {
    const scenarios = scenariosFor({ pool, ids, auth: AUTH, dry }, urls);
    // The first request that needs the free keys in memory scans the pool (the wake measures it):
    // build them before the rounds, so no round pays for it.
    for (const name of [pool, dry.pool]) {
      const stats = await fetch(`${urls.driver}/stats/${name}`);
      if (!stats.ok) throw new Error(`stats of ${name}: ${stats.status} ${await stats.text()}`);
      await stats.arrayBuffer();
    }
    dry.checked = await checkDry(urls, dry);
    if (index === 0) {
      log("warming up");
      for (const scenario of scenarios) await run(scenario.url, scenario.requests, quick ? 0.1 : 0.5, true);
    }
    const rounds = [];
    for (let round = 0; round < settings.rounds; round++) {
      const figures = {};
      for (const scenario of scenarios) {
        await scenario.before?.();
        figures[scenario.id] = await run(scenario.url, scenario.requests);
      }
      rounds.push(figures);
      log(`pool ${pool}: round ${round + 1}/${settings.rounds} done`);
    }
    const { fillSeconds, dryUpSeconds, checked, waitersLeft = 0 } = dry;
    pools.push({
      size,
      fillSeconds: seconds,
      dry: { pool: dry.pool, fillSeconds, dryUpSeconds, checked, waitersLeft },
      rounds,
    });
  }

  const probe = { ...(await measureProbeBySize(fills, urls, run)), object: probeObject };

  const bulk = await measureBulk(urls);
  log(`bulk creation: ${Math.round(bulk.http.keysPerSecond)} keys/s over HTTP`);
  if (bulk.importHttp !== undefined) log(`bulk import: ${Math.round(bulk.importHttp.keysPerSecond)} keys/s over HTTP`);
  const alarm = await measureAlarm(urls.driver);
  log(`alarm: ${alarm.runs} runs, longest ${alarm.maxCpuMs.toFixed(1)} ms CPU`);
  const costs = await measureCosts({
    server,
    driver: urls.driver,
    pool: "costs",
    keys: settings.costPoolKeys,
    times: settings.costCalls,
    rounds: settings.rounds,
  });
  log("costs: measured");
  const encryption = settings.encrypted
    ? await measureEncryption({
        server,
        urls,
        keys: settings.costPoolKeys,
        times: settings.encryptionCalls,
        rounds: settings.rounds,
      })
    : null;
  if (encryption !== null) log("encryption: measured");
  const audit = await measureAudit({
    server,
    urls,
    settings,
    fill: async (pool, keys) => (await fillPool(urls.main, pool, keys)).ids,
    run: (url, requests) => run(url, requests),
    auth: AUTH,
    log,
  });
  await server.stop();
  server = undefined;

  const coldStart = await measureColdStarts(bundles, toml, httpWorker);
  return {
    settings,
    machine: machine(loadBefore),
    durationSeconds: (Date.now() - started) / 1000,
    bundles: bundleSizes(bundles),
    pools,
    probe,
    bulk,
    alarm,
    costs,
    encryption,
    audit,
    wake,
    coldStart,
  };
}

/**
 * The config a wake restarts workerd with: the driver alone, its Probe class under the production
 * KeyPool namespace's unique key (writeConfig's default for the `main` Worker), so `probe-*` routes
 * open the pools the run filled.
 */
function wakeConfig(bundles, toml, vars, storage) {
  const dir = join(work, "wake");
  mkdirSync(dir);
  return writeConfig(
    dir,
    toml,
    [
      {
        name: "driver",
        module: bundles.driver,
        port: PORTS.driver,
        vars,
        durableObjects: [{ binding: "PROBE", className: "Probe", uniqueKey: "main-KeyPool" }],
      },
    ],
    storage,
  );
}

/**
 * Makes every free key of each dry pool unavailable for longer than the run (half blocked, half
 * cooling: the driver's `Probe.dryUp`), on workerd serving the driver's Probe class on the production
 * pools' storage as for the wake: inside the object, thousands of keys per call, where a million calls
 * over RPC would take the better part of an hour. Keeps a sample of the blocked keys in `dry.ids`.
 */
async function dryUp(config, driver, fills) {
  const probe = new Workerd(config);
  try {
    await probe.ready(`${driver}/ready`);
    for (const { dry } of fills) {
      const start = performance.now();
      // Blocks and cooldowns (and keys) outlast the run: nothing comes due while it is measured.
      const settings = await fetch(`${driver}/probe-settings/${dry.pool}?keyTtl=3600&blockTtl=3600`, { method: "PUT" });
      if (!settings.ok) throw new Error(`settings of ${dry.pool}: ${settings.status} ${await settings.text()}`);
      await settings.arrayBuffer();
      dry.ids = [];
      for (let free = Number.POSITIVE_INFINITY; free > 0; ) {
        const url = `${driver}/probe-dry/${dry.pool}?limit=20000&sample=${SAMPLE - dry.ids.length}`;
        const response = await fetch(url, { method: "POST" });
        if (!response.ok) throw new Error(`drying ${dry.pool}: ${response.status} ${await response.text()}`);
        const answer = await response.json();
        dry.ids.push(...answer.blocked);
        free = answer.free;
      }
      dry.dryUpSeconds = (performance.now() - start) / 1000;
      log(`pool ${dry.pool}: no key free after ${dry.dryUpSeconds.toFixed(1)} s`);
    }
    return await probeInObject(probe, driver, fills);
  } finally {
    await probe.stop();
  }
}

/**
 * The earliest-free probe inside the object, on each dry pool as filled (the same storage, the Probe
 * class): `probeCalls` assignments that find no key free in a row, net of the loop alone, what SQLite
 * counted for them, every size in turn within each round. Without the RPC, the Worker and HTTP around
 * it, this is what would grow with the pool if anything did.
 */
async function probeInObject(probe, driver, fills) {
  const rounds = [];
  for (let round = 0; round < settings.rounds; round++) {
    const figures = {};
    for (const { size, dry } of fills) {
      const subject = { url: driver, pool: dry.pool, source: "generated" };
      const empty = await emptyLoop(probe, subject, settings.probeCalls);
      const measured = await measureOne(probe, subject, "none-free", settings.probeCalls);
      const per = (field) => measured[field] / measured.calls;
      figures[size] = {
        cpuUs: (Math.max(0, measured.cpuMs - empty.cpuMs) * 1000) / measured.calls,
        rowsRead: per("rowsRead"),
        rowsWritten: per("rowsWritten"),
        statements: per("statements"),
      };
    }
    rounds.push(figures);
  }
  log("earliest-free probe in the object: measured");
  return rounds;
}

/**
 * Proves a dry pool is what its scenarios need: `GET /keys` answers 404 with when a key will be free,
 * and a caller waiting for a key is in the line before the release the driver sends after it, and gets
 * the key released. Answers the first's Retry-After and body.
 */
async function checkDry(urls, dry) {
  const response = await fetch(`${urls.main}/pools/${dry.pool}/keys`, { headers: AUTH.client });
  const body = await response.json();
  const retryAfter = response.headers.get("retry-after");
  if (response.status !== 404 || retryAfter === null || body.retryAfterSeconds === undefined) {
    throw new Error(
      `${dry.pool}: expected 404 with Retry-After, got ${response.status} ${retryAfter} ${JSON.stringify(body)}`,
    );
  }
  const [keyId] = dry.ids;
  const handoff = await fetch(`${urls.driver}/handoff/${dry.pool}/${keyId}?check`, { method: "POST" });
  const answer = await handoff.json();
  if (!handoff.ok || answer.waited !== 1 || answer.served?.value?.keyId !== keyId) {
    throw new Error(`${dry.pool}: the waiting caller was not handed the key released: ${JSON.stringify(answer)}`);
  }
  return { status: response.status, retryAfter, body };
}

/**
 * A waiting caller whose request ended between its wait and the release the driver sends after it (the
 * load's end cuts requests short) waits on for its few seconds, and every call to its pool tries to
 * serve it meanwhile: the earliest-free probe is measured only once nobody waits. Answers how many
 * callers were still waiting when it started looking.
 */
async function untilNoneWaiting(urls, pool) {
  let first = null;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const response = await fetch(`${urls.driver}/stats/${pool}`);
    const stats = await response.json();
    if (!response.ok || !stats.ok) throw new Error(`stats of ${pool}: ${response.status} ${JSON.stringify(stats)}`);
    first ??= stats.value.waiting;
    if (stats.value.waiting === 0) return first;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`callers still wait in ${pool} after 30 s`);
}

/**
 * The earliest-free probe once more, over RPC and over HTTP with the no-op ceiling beside it, every pool
 * size in turn within each round: the rounds above measure one pool after the other, minutes apart,
 * and on a shared machine the drift between them is as large as what is looked for (the probe must not
 * grow with the pool).
 */
async function measureProbeBySize(fills, urls, run) {
  const operation = OPERATIONS.find((op) => op.expect !== undefined);
  const rounds = [];
  for (let round = 0; round < settings.rounds; round++) {
    const figures = {};
    for (const { size, pool, ids, dry } of fills) {
      const target = { pool, ids, auth: AUTH, dry };
      figures[size] = {
        waitersLeft: await untilNoneWaiting(urls, dry.pool),
        noop: await run(urls.driver, CEILINGS.noop.requests()),
        rpc: await run(urls.driver, operation.driver(target)),
        http: await run(urls.main, operation.http(target)),
      };
    }
    rounds.push(figures);
  }
  log("earliest-free probe by pool size: measured");
  return { endpoint: operation.endpoint, rounds };
}

/** Every scenario of one pool: the ceilings, each operation over RPC and over HTTP, and the driver's pairs. */
function scenariosFor(target, urls) {
  const scenarios = Object.entries(CEILINGS).map(([id, ceiling]) => ({
    id: `ceiling:${id}`,
    url: urls.driver,
    requests: ceiling.requests(),
  }));
  for (const operation of OPERATIONS) {
    // The none-free probe runs on the dry pool, where the handoff may have left a caller waiting.
    const before =
      operation.expect === undefined
        ? undefined
        : async () => {
            target.dry.waitersLeft = Math.max(
              target.dry.waitersLeft ?? 0,
              await untilNoneWaiting(urls, target.dry.pool),
            );
          };
    for (const [layer, url, requests] of [
      ["rpc", urls.driver, operation.driver(target)],
      ["http", urls.main, operation.http(target)],
    ]) {
      scenarios.push({ id: `${layer}:${operation.endpoint}`, url, requests, before });
    }
  }
  for (const pair of PAIRS)
    scenarios.push({ id: `pair:${pair.id}`, url: urls.driver, requests: pair.requests(target) });
  return scenarios;
}

/** Bulk-creates `size` keys with `POST {"count": 1000}`, two requests in flight; keeps a sample of ids. */
async function fillPool(url, pool, size) {
  const ids = [];
  const perCall = 1000;
  const calls = Math.ceil(size / perCall);
  const keepPerCall = Math.max(1, Math.ceil(SAMPLE / calls));
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      const count = Math.min(perCall, size - next * perCall);
      next++;
      const response = await fetch(`${url}/pools/${pool}/keys`, {
        method: "POST",
        headers: { ...AUTH.admin, "content-type": "application/json" },
        body: JSON.stringify({ count }),
      });
      if (response.status !== 201) throw new Error(`filling ${pool}: ${response.status} ${await response.text()}`);
      const { keyIds } = await response.json();
      ids.push(...keyIds.slice(0, keepPerCall));
    }
  };
  await Promise.all([worker(), worker()]);
  return { ids, seconds: (performance.now() - start) / 1000 };
}

/**
 * `{"count": 1000}` per request, on pools of their own, over HTTP and over RPC; with an encryption
 * key, imports of 1000 new values per request the same two ways.
 */
async function measureBulk(urls) {
  // A 1000-key create takes tens of milliseconds in the object: two in flight keep it busy. The first
  // request, sent alone, makes the pool (directory entry, schema), which is not what is measured.
  const run = async (url, requests) => {
    for (const request of requests) await send(url, request);
    return load(server, { url, requests, connections: 2, seconds: settings.bulkSeconds });
  };
  const http = await run(urls.main, [
    {
      method: "POST",
      path: "/pools/bulk-http/keys",
      headers: { ...AUTH.admin, "content-type": "application/json" },
      body: '{"count":1000}',
    },
  ]);
  const rpc = await run(urls.driver, [{ method: "POST", path: "/create/bulk-rpc?count=1000" }]);
  // What bounds it: the same store and schema with random ids (as KeyPool) and with time-ordered ids.
  const randomIds = await run(urls.driver, [{ method: "POST", path: "/id-order/bulk-random/random?count=1000" }]);
  const timeIds = await run(urls.driver, [{ method: "POST", path: "/id-order/bulk-time/time?count=1000" }]);
  const perKey = (figures) => ({ ...figures, keysPerSecond: figures.rps * 1000 });
  const figures = { http: perKey(http), rpc: perKey(rpc), randomIds: perKey(randomIds), timeIds: perKey(timeIds) };
  if (!settings.encrypted) return figures;
  // Every request imports values never seen before (a repeat is refused), made as it is sent.
  const newValues = (request) => ({ ...request, body: JSON.stringify({ keys: importEntries(1000) }) });
  const importHttp = await run(urls.main, [
    {
      method: "POST",
      path: "/pools/bulk-import-http/keys",
      headers: { ...AUTH.admin, "content-type": "application/json" },
      setupRequest: newValues,
    },
  ]);
  const importRpc = await run(urls.driver, [
    { method: "POST", path: "/import/bulk-import-rpc", headers: jsonHeaders, setupRequest: newValues },
  ]);
  return { ...figures, importHttp: perKey(importHttp), importRpc: perKey(importRpc) };
}

/** Sends one request of a load scenario (as autocannon would: its `setupRequest` applied) and checks it succeeded. */
async function send(url, request) {
  const { method, path, headers, body } = request.setupRequest?.({ ...request }, {}) ?? request;
  const response = await fetch(`${url}${path}`, { method, headers, body });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/**
 * Creates `alarmKeys` keys in a probe pool (KeyPool whose runtime alarm deliveries are ignored), reads
 * its database size, waits until every key has expired, then runs the real alarm one run per request
 * and records the workerd CPU of each run; then the same on a pool that keeps no audit trail.
 */
async function measureAlarm(driver) {
  const trailed = await drainAlarm(driver, "alarm");
  // The same on a pool that keeps no audit trail (issue 15): what the trail adds to an alarm run.
  const untrailed = await drainAlarm(driver, "alarm-untrailed", "&auditRetentionDays=0");
  return { ...trailed, untrailed };
}

/** `alarmKeys` keys made in the probe pool `pool` (with `settingsQuery` applied first), left to expire, then drained. */
async function drainAlarm(driver, pool, settingsQuery) {
  if (settingsQuery !== undefined) {
    await call(
      `${driver}/probe-settings/${pool}?keyTtl=${settings.probeTtlSeconds}&blockTtl=60${settingsQuery}`,
      "PUT",
    );
  }
  const calls = Math.ceil(settings.alarmKeys / 1000);
  for (let i = 0; i < calls; i++) {
    const response = await fetch(`${driver}/probe-add/${pool}?count=1000`, { method: "POST" });
    if (response.status !== 200) throw new Error(`probe add: ${response.status} ${await response.text()}`);
  }
  const created = Date.now();
  const storage = await (await fetch(`${driver}/probe-storage/${pool}`)).json();
  await new Promise((resolve) =>
    setTimeout(resolve, Number(settings.probeTtlSeconds) * 1000 + 50 - (Date.now() - created)),
  );

  const runsCpuMs = [];
  const runsWallMs = [];
  for (;;) {
    const cpuBefore = server.cpuNs();
    const wallBefore = performance.now();
    const response = await fetch(`${driver}/probe-alarm/${pool}`);
    const { keysLeft } = await response.json();
    runsCpuMs.push((server.cpuNs() - cpuBefore) / 1e6);
    runsWallMs.push(performance.now() - wallBefore);
    if (!keysLeft) break;
    if (runsCpuMs.length > settings.alarmKeys) throw new Error("the alarm does not drain the pool");
  }
  const after = await (await fetch(`${driver}/probe-storage/${pool}`)).json();
  if (after.keys !== 0) throw new Error(`alarm runs left ${after.keys} expired keys`);
  return {
    keys: storage.keys,
    databaseSize: storage.databaseSize,
    bytesPerKey: storage.databaseSize / storage.keys,
    runs: runsCpuMs.length,
    maxCpuMs: Math.max(...runsCpuMs),
    medianCpuMs: median(runsCpuMs),
    p99CpuMs: percentile(runsCpuMs, 0.99),
    runsCpuMs,
    totalCpuMs: runsCpuMs.reduce((a, b) => a + b, 0),
    maxWallMs: Math.max(...runsWallMs),
  };
}

/**
 * Start-up of each bundle on a fresh workerd (no storage yet): wall time from spawn to the first
 * answer, and the process's CPU by then. An empty Worker gives workerd's own share.
 */
async function measureColdStarts(bundles, toml, httpWorker) {
  const empty = join(work, "empty", "empty.js");
  mkdirSync(dirname(empty), { recursive: true });
  writeFileSync(empty, 'export default { fetch: () => new Response("ok") };\n');
  const candidates = { empty, main: bundles.main };
  const figures = {};
  for (const [name, module] of Object.entries(candidates)) {
    const wall = [];
    const cpu = [];
    for (let i = 0; i < settings.coldStarts; i++) {
      const dir = mkdtempSync(join(work, `cold-${name}-`));
      const worker =
        name === "empty"
          ? { name: "cold", module, port: PORTS.coldStart }
          : {
              name: "cold",
              module,
              port: PORTS.coldStart,
              ...httpWorker,
              durableObjects: [
                { binding: "KEY_POOL", className: "KeyPool" },
                { binding: "POOL_DIRECTORY", className: "PoolDirectory" },
              ],
            };
      const instance = new Workerd(writeConfig(dir, toml, [worker], dir));
      try {
        wall.push(await instance.ready(`http://127.0.0.1:${PORTS.coldStart}/not-a-route`));
        cpu.push(instance.cpuNs() / 1e6);
      } finally {
        await instance.stop();
      }
    }
    figures[name] = { wallMs: median(wall), cpuMs: median(cpu) };
  }
  return figures;
}

function assertFree(port) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", () => reject(new Error(`port ${port} is in use: pass --port with a free range`)));
    probe.listen(port, "127.0.0.1", () => probe.close(resolve));
  });
}

function bundleSizes(bundles) {
  const sizes = {};
  for (const [name, path] of Object.entries(bundles)) {
    const bytes = readFileSync(path);
    sizes[name] = { raw: bytes.byteLength, gzip: gzipSync(bytes).byteLength };
  }
  return sizes;
}

function machine(loadBefore) {
  const packageVersion = (name) =>
    JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadBefore: loadBefore.map((l) => l.toFixed(2)).join(" "),
    loadAfter: loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
    node: process.version,
    workerd: workerdVersion,
    versions: Object.fromEntries(
      ["wrangler", "autocannon", "itty-router", "zod", "@asteasolutions/zod-to-openapi"].map((name) => [
        name,
        packageVersion(name),
      ]),
    ),
  };
}
