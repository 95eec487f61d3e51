/**
 * Turns the raw figures of a bench run into markdown. Every throughput is also shown as a ratio to
 * its ceiling from the same round (medians over rounds), which is what holds still on a noisy machine.
 */
import { auditSection } from "./audit-report.mjs";
import {
  COST_OPERATIONS,
  cpuDifference,
  ENCRYPTION_OPERATIONS,
  ENCRYPTION_SUBJECTS,
  netPerRound,
  objectPrice,
  perOperation,
  subjectsOf,
  workerPrice,
} from "./costs.mjs";
import { median } from "./load.mjs";
import { DURABLE_OBJECT, PRICES_READ, WORKER } from "./prices.mjs";
import { CEILINGS, OPERATIONS, PAIRS } from "./scenarios.mjs";

export const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
export const fixed = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
/** A count per operation: whole when it is, else to three places (a 1000-key create, per key). */
export const count = (n) => (Number.isInteger(n) ? String(n) : fixed(n, 3));
/** Dollars to two significant digits below $0.10 (0.000078), cents above. */
export const dollars = (n) =>
  !Number.isFinite(n) ? "–" : n === 0 ? "0" : n.toFixed(Math.max(2, Math.min(9, 1 - Math.floor(Math.log10(n)))));
export const sizeName = (size) => (size >= 1e6 ? `${size / 1e6}M` : size >= 1e3 ? `${size / 1e3}k` : String(size));

export function table(header, rows) {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** Median over rounds of one figure of one scenario. */
export function med(pool, id, field) {
  return median(pool.rounds.map((round) => round[id]?.[field]));
}

/** Median over rounds of a scenario's req/s divided by its ceiling's req/s in the same round. */
export function ratio(pool, id, ceiling) {
  return median(pool.rounds.map((round) => round[id]?.rps / round[`ceiling:${ceiling}`]?.rps));
}

/**
 * The same ratio from CPU per request: workerd runs every request on one thread, so when it is the
 * bottleneck, throughput is 1 / CPU per request. Steadier than req/s on a shared machine.
 */
export function cpuRatio(pool, id, ceiling) {
  return median(pool.rounds.map((round) => round[`ceiling:${ceiling}`]?.cpuUs / round[id]?.cpuUs));
}

function latency(pool, id) {
  return `${fixed(med(pool, id, "p50"), 0)} / ${fixed(med(pool, id, "p99"), 0)}`;
}

/** The status every answer of a scenario must have when it is not a 2xx (the none-free probe's 404), by scenario id. */
const EXPECTED = Object.fromEntries(
  OPERATIONS.filter((op) => op.expect !== undefined).flatMap((op) => [
    [`rpc:${op.endpoint}`, op.expect],
    [`http:${op.endpoint}`, op.expect],
  ]),
);

function non2xx(pools) {
  const notes = [];
  for (const pool of pools) {
    for (const [index, round] of pool.rounds.entries()) {
      for (const [id, figures] of Object.entries(round)) {
        const expected = EXPECTED[id];
        const where = `${sizeName(pool.size)} round ${index + 1} ${id}`;
        if (expected !== undefined) {
          const as = figures.codes?.[expected] ?? 0;
          if (as !== figures.requests)
            notes.push(`${where}: ${as} of ${figures.requests} answered ${expected} (all must)`);
        } else if (figures.non2xx > 0) {
          notes.push(`${where}: ${figures.statuses} of ${figures.requests}`);
        }
      }
    }
  }
  return notes;
}

export function report(results) {
  const { settings, machine, pools, bulk, alarm, coldStart, bundles } = results;
  const out = [];
  const command = settings.command ?? (settings.quick ? "npm run bench -- --quick" : "npm run bench");
  out.push(
    `Command: \`${command}\` (${settings.rounds} round(s) of ${settings.seconds} s per scenario, ` +
      `${settings.connections} connections; the run took ${Math.round(results.durationSeconds)} s). ` +
      (settings.encrypted === false
        ? "Encryption at rest: off (`--unencrypted`: no KEY_ENCRYPTION_KEY, values stored as they are)."
        : "Encryption at rest: on (a KEY_ENCRYPTION_KEY made for the run; values sealed with AES-256-GCM)."),
  );
  out.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores (shared); load average ${machine.loadBefore} before, ` +
      `${machine.loadAfter} after. Node ${machine.node}, workerd ${machine.workerd}, ` +
      Object.entries(machine.versions)
        .map(([name, version]) => `${name} ${version}`)
        .join(", ") +
      ".",
  );
  out.push(
    "Figures are medians over rounds; `× ceiling` is req/s divided by the ceiling's req/s in the same round " +
      "(reads: the no-op RPC, writes: the one-row write). CPU is the workerd process's, all threads, per request.",
  );

  out.push("\n### Ceilings (driver Worker -> bench Durable Object over RPC, across services like the pools)\n");
  out.push(
    table(
      ["pool size", "ceiling", "req/s", "p50 / p99 ms", "CPU µs/req"],
      pools.flatMap((pool) =>
        Object.entries(CEILINGS).map(([id, ceiling]) => [
          sizeName(pool.size),
          ceiling.label,
          int(med(pool, `ceiling:${id}`, "rps")),
          latency(pool, `ceiling:${id}`),
          int(med(pool, `ceiling:${id}`, "cpuUs")),
        ]),
      ),
    ),
  );

  for (const pool of pools) {
    out.push(`\n### Pool of ${int(pool.size)} keys\n`);
    out.push(
      table(
        [
          "operation",
          "ceiling",
          "object req/s",
          "× ceiling (req/s, CPU)",
          "CPU µs/req",
          "HTTP req/s",
          "× ceiling (req/s, CPU)",
          "p50 / p99 ms",
          "CPU µs/req",
          "HTTP layer µs/req",
        ],
        OPERATIONS.map((op) => {
          const rpc = `rpc:${op.endpoint}`;
          const http = `http:${op.endpoint}`;
          return [
            `\`${op.endpoint}\` (${op.rpc})`,
            op.ceiling,
            int(med(pool, rpc, "rps")),
            `${fixed(ratio(pool, rpc, op.ceiling))}, ${fixed(cpuRatio(pool, rpc, op.ceiling))}`,
            int(med(pool, rpc, "cpuUs")),
            int(med(pool, http, "rps")),
            `${fixed(ratio(pool, http, op.ceiling))}, ${fixed(cpuRatio(pool, http, op.ceiling))}`,
            latency(pool, http),
            int(med(pool, http, "cpuUs")),
            int(med(pool, http, "cpuUs") - med(pool, rpc, "cpuUs")),
          ];
        }),
      ),
    );
    const reads = OPERATIONS.filter((op) => op.ceiling === "noop");
    out.push(
      `\nReads against the one-row SQLite read (CPU): ${reads
        .map(
          (op) =>
            `\`${op.endpoint}\` object ${fixed(cpuRatio(pool, `rpc:${op.endpoint}`, "read"))}, ` +
            `HTTP ${fixed(cpuRatio(pool, `http:${op.endpoint}`, "read"))}`,
        )
        .join("; ")}.`,
    );
  }

  if (pools.length > 1) {
    const first = pools[0];
    const last = pools.at(-1);
    out.push(`\n### Scaling: ${sizeName(last.size)} keys against ${sizeName(first.size)} keys\n`);
    out.push(
      "Raw is req/s at the larger pool over req/s at the smaller; normalised divides each by its ceiling from " +
        "the same round first, which cancels the machine getting busier or quieter between the two; CPU is CPU " +
        "per request at the smaller pool over that at the larger (1.00 = costs the same).\n",
    );
    const scale = (id, ceiling) => [
      fixed(med(last, id, "rps") / med(first, id, "rps")),
      fixed(ratio(last, id, ceiling) / ratio(first, id, ceiling)),
      fixed(med(first, id, "cpuUs") / med(last, id, "cpuUs")),
    ];
    out.push(
      table(
        ["operation", "object raw", "object normalised", "object CPU", "HTTP raw", "HTTP normalised", "HTTP CPU"],
        OPERATIONS.map((op) => [
          `\`${op.endpoint}\``,
          ...scale(`rpc:${op.endpoint}`, op.ceiling),
          ...scale(`http:${op.endpoint}`, op.ceiling),
        ]),
      ),
    );
  }

  const first = pools[0];
  out.push(`\n### HTTP layer: bare fetch handler vs production (pool of ${int(first.size)})\n`);
  out.push(
    "Same Durable Object call behind each; `bare` is the driver's fetch handler (no routing or validation), " +
      "production is KeyPool's HTTP layer (itty-router + zod, tokens, CORS). Extra CPU is production's CPU per " +
      "request minus bare's.\n",
  );
  out.push(
    table(
      ["route", "bare fetch req/s", "CPU µs/req", "production req/s", "CPU µs/req", "extra CPU µs"],
      OPERATIONS.map((op) => [
        `\`${op.endpoint}\``,
        int(med(first, `rpc:${op.endpoint}`, "rps")),
        int(med(first, `rpc:${op.endpoint}`, "cpuUs")),
        int(med(first, `http:${op.endpoint}`, "rps")),
        int(med(first, `http:${op.endpoint}`, "cpuUs")),
        int(med(first, `http:${op.endpoint}`, "cpuUs") - med(first, `rpc:${op.endpoint}`, "cpuUs")),
      ]),
    ),
  );
  out.push("");
  out.push(
    table(
      ["bundle", "raw", "gzip", "cold start: wall ms to first answer", "workerd CPU ms by then"],
      [
        ["empty Worker (workerd alone)", "–", "–", fixed(coldStart.empty.wallMs, 0), fixed(coldStart.empty.cpuMs, 0)],
        [
          "KeyPool",
          kib(bundles.main.raw),
          kib(bundles.main.gzip),
          fixed(coldStart.main.wallMs, 0),
          fixed(coldStart.main.cpuMs, 0),
        ],
      ],
    ),
  );

  out.push(...keyHealthSection(results));

  out.push("\n### Bulk creation, alarm, storage\n");
  out.push(
    table(
      ["figure", "value"],
      [
        [
          '`POST /keys {"count":1000}` (HTTP), keys/s',
          `${int(bulk.http.keysPerSecond)} (p50 / p99 ${fixed(bulk.http.p50, 0)} / ${fixed(bulk.http.p99, 0)} ms, ${int(bulk.http.cpuUs / 1000)} µs CPU per key)`,
        ],
        ["`create(1000)` over RPC, keys/s", int(bulk.rpc.keysPerSecond)],
        ...(bulk.importHttp === undefined
          ? []
          : [
              [
                '`POST /keys {"keys": [1000 new values]}` (HTTP import), keys/s',
                `${int(bulk.importHttp.keysPerSecond)} (p50 / p99 ${fixed(bulk.importHttp.p50, 0)} / ${fixed(bulk.importHttp.p99, 0)} ms, ${int(bulk.importHttp.cpuUs / 1000)} µs CPU per key)`,
              ],
              [
                "`importKeys(1000 new values)` over RPC, keys/s",
                `${int(bulk.importRpc.keysPerSecond)} (${int(bulk.importRpc.cpuUs / 1000)} µs CPU per key)`,
              ],
            ]),
        [
          "bound: KeyPool's store inserting 1000 keys per call, random ids (as KeyPool), keys/s",
          `${int(bulk.randomIds.keysPerSecond)} (${fixed(bulk.randomIds.cpuUs / 1000, 1)} µs CPU per key)`,
        ],
        [
          "bound: the same with time-ordered ids, keys/s",
          `${int(bulk.timeIds.keysPerSecond)} (${fixed(bulk.timeIds.cpuUs / 1000, 1)} µs CPU per key)`,
        ],
        ...pools.map((pool) => [
          `filling the ${sizeName(pool.size)} pool (2 requests in flight), keys/s`,
          int(pool.size / pool.fillSeconds),
        ]),
        [
          `alarm runs to delete ${int(alarm.keys)} keys expired together`,
          `${alarm.runs} runs; CPU per run: longest ${fixed(alarm.maxCpuMs, 1)} ms, p99 ${fixed(alarm.p99CpuMs, 1)} ms, median ${fixed(alarm.medianCpuMs, 1)} ms; total ${int(alarm.totalCpuMs)} ms; longest wall ${fixed(alarm.maxWallMs, 1)} ms`,
        ],
        ...(alarm.untrailed === undefined
          ? []
          : [
              [
                "the same in a pool that keeps no audit trail (`auditRetentionDays: 0`)",
                `${alarm.untrailed.runs} runs; CPU per run: longest ${fixed(alarm.untrailed.maxCpuMs, 1)} ms, median ` +
                  `${fixed(alarm.untrailed.medianCpuMs, 1)} ms; total ${int(alarm.untrailed.totalCpuMs)} ms: the trail ` +
                  `adds ${fixed((alarm.medianCpuMs / alarm.untrailed.medianCpuMs - 1) * 100, 0)}% to a run (median), ` +
                  `${fixed((alarm.totalCpuMs / alarm.untrailed.totalCpuMs - 1) * 100, 0)}% in all`,
              ],
            ]),
        [
          `storage per key at ${int(alarm.keys)} keys (\`databaseSize\`, each key's \`created\` audit entry included)`,
          `${fixed(alarm.bytesPerKey, 0)} bytes (${int(alarm.databaseSize)} bytes)`,
        ],
      ],
    ),
  );

  out.push(...costSection(results));
  out.push(...encryptionSection(results));
  out.push(...auditSection(results));
  out.push(...wakeSection(results));

  const errors = non2xx(pools);
  if (errors.length > 0) {
    out.push(
      "\nNon-2xx answers (expected: 403 for a random key another connection had just blocked, 409 for a block " +
        "that lost the race for it):\n",
    );
    for (const note of errors) out.push(`- ${note}`);
  }
  return out.join("\n");
}

/**
 * Issue 14's figures from the load: the earliest-free probe at every pool size (flat?), reports against
 * an unblock, and the handoff to a waiting caller against an ordinary assignment and its release.
 */
function keyHealthSection(results) {
  const { pools } = results;
  const out = ["\n### Key health (issue 14)\n"];
  const probe = OPERATIONS.find((op) => op.expect !== undefined);
  const first = pools[0];
  out.push(
    `\`${probe.endpoint}\` on a pool of the same size with no key free (half its keys blocked, half cooling, for ` +
      "longer than the run): every answer a 404 with `Retry-After`, from one probe of each of the release and " +
      `cooling indexes. CPU at ${sizeName(first.size)} over CPU at each size: 1.00 = flat.\n`,
  );
  out.push(
    table(
      [
        "pool size",
        "object req/s",
        "CPU µs/req",
        "× no-op (CPU)",
        `CPU ${sizeName(first.size)} / this`,
        "HTTP req/s",
        "p50 / p99 ms",
        "CPU µs/req",
        `CPU ${sizeName(first.size)} / this`,
        "first answer",
      ],
      pools.map((pool) => {
        const rpc = `rpc:${probe.endpoint}`;
        const http = `http:${probe.endpoint}`;
        const checked = pool.dry?.checked;
        return [
          sizeName(pool.size),
          int(med(pool, rpc, "rps")),
          int(med(pool, rpc, "cpuUs")),
          fixed(cpuRatio(pool, rpc, "noop")),
          fixed(med(first, rpc, "cpuUs") / med(pool, rpc, "cpuUs")),
          int(med(pool, http, "rps")),
          latency(pool, http),
          int(med(pool, http, "cpuUs")),
          fixed(med(first, http, "cpuUs") / med(pool, http, "cpuUs")),
          checked === undefined
            ? "–"
            : `${checked.status}, Retry-After ${checked.retryAfter}, retryAfterSeconds ${checked.body.retryAfterSeconds}`,
        ];
      }),
    ),
  );

  const left = pools.filter((pool) => pool.dry?.waitersLeft > 0);
  if (left.length > 0) {
    out.push(
      `\nCallers a cut-short handoff request left waiting, waited out before the probe: ${left
        .map((pool) => `${pool.dry.waitersLeft} at ${sizeName(pool.size)}`)
        .join(", ")}.`,
    );
  }
  if (results.probe !== undefined) out.push(...probeBySize(results));

  const reports = OPERATIONS.filter((op) => op.endpoint.includes("report"));
  const unblock = "GET /keys + unblock";
  out.push(
    `\nA report instead of the unblock, CPU µs per request (the pair's two requests averaged) against \`${unblock}\`, ` +
      "object and HTTP:\n",
  );
  out.push(
    table(
      ["pool size", ...reports.map((op) => `\`${op.endpoint}\``), `\`${unblock}\``],
      pools.map((pool) => [
        sizeName(pool.size),
        ...[...reports.map((op) => op.endpoint), unblock].map(
          (endpoint) =>
            `${int(med(pool, `rpc:${endpoint}`, "cpuUs"))} / ${int(med(pool, `http:${endpoint}`, "cpuUs"))}`,
        ),
      ]),
    ),
  );

  const [ordinary, handoff] = PAIRS;
  out.push(
    "\nThe handoff to a waiting caller, against an ordinary assignment and its release: the driver makes both " +
      "calls of a pair in one request (so each figure is per pair), the ordinary pair on the pool of free keys, the " +
      "handoff on the pool with none free, where the waiting caller's assignment first finds none free (the " +
      "earliest-free probe) and joins the line, and the release's transaction hands it the key. " +
      `Ordinary: ${ordinary.label}. Handoff: ${handoff.label}. The ratio is handoff over ordinary, the median ` +
      "of the rounds' own ratios.\n",
  );
  const pairRatio = (pool) =>
    median(pool.rounds.map((round) => round[`pair:${handoff.id}`]?.cpuUs / round[`pair:${ordinary.id}`]?.cpuUs));
  out.push(
    table(
      [
        "pool size",
        "ordinary req/s",
        "p50 / p99 ms",
        "CPU µs/pair",
        "handoff req/s",
        "p50 / p99 ms",
        "CPU µs/pair",
        "handoff / ordinary, CPU",
      ],
      pools.map((pool) => [
        sizeName(pool.size),
        int(med(pool, `pair:${ordinary.id}`, "rps")),
        latency(pool, `pair:${ordinary.id}`),
        int(med(pool, `pair:${ordinary.id}`, "cpuUs")),
        int(med(pool, `pair:${handoff.id}`, "rps")),
        latency(pool, `pair:${handoff.id}`),
        int(med(pool, `pair:${handoff.id}`, "cpuUs")),
        fixed(pairRatio(pool)),
      ]),
    ),
  );
  return out;
}

/**
 * The earliest-free probe measured again with the pool sizes in turn within each round: every figure
 * taken next to the same figure at the smallest size and the no-op ceiling of the same round.
 */
function probeBySize(results) {
  const { probe, pools } = results;
  const sizes = pools.map((pool) => pool.size);
  const first = sizes[0];
  const rounds = probe.rounds;
  const of = (size, layer, field) => median(rounds.map((round) => round[size]?.[layer]?.[field]));
  const perRound = (f) => median(rounds.map(f));
  const inObject = (size) => {
    const object = (probe.object ?? []).map((round) => round[size]).filter((f) => f !== undefined);
    if (object.length === 0) return "–";
    const field = (name, format) => format(median(object.map((f) => f[name])));
    return [
      field("cpuUs", (v) => fixed(v, 1)),
      field("rowsRead", count),
      field("rowsWritten", count),
      field("statements", count),
    ].join(" / ");
  };
  const out = [
    `\nThe same probe again, ${rounds.length} round(s) each measuring every size in turn (the rounds above take ` +
      "one pool after the other, minutes apart). In the object: the driver's Probe on the same pools before the " +
      `load (workerd serving it on their storage, as for the wake), ${results.settings.probeCalls} assignments ` +
      "that find none free in a row, CPU net of the loop alone, medians of the rounds. Then through RPC and " +
      "HTTP after the load: CPU µs per request and, median of the rounds' own ratios, against the no-op ceiling " +
      `measured just before it and CPU at ${sizeName(first)} over CPU at this size (1.00 = flat).\n`,
  ];
  out.push(
    table(
      [
        "pool size",
        "in the object: CPU µs net / rows read / rows written / statements",
        "no-op CPU µs",
        "object CPU µs",
        "object × no-op (CPU)",
        `object CPU ${sizeName(first)} / this`,
        "HTTP req/s",
        "HTTP CPU µs",
        `HTTP CPU ${sizeName(first)} / this`,
      ],
      sizes.map((size) => [
        sizeName(size),
        inObject(size),
        int(of(size, "noop", "cpuUs")),
        int(of(size, "rpc", "cpuUs")),
        fixed(perRound((round) => round[size]?.noop?.cpuUs / round[size]?.rpc?.cpuUs)),
        fixed(perRound((round) => round[first]?.rpc?.cpuUs / round[size]?.rpc?.cpuUs)),
        int(of(size, "http", "rps")),
        int(of(size, "http", "cpuUs")),
        fixed(perRound((round) => round[first]?.http?.cpuUs / round[size]?.http?.cpuUs)),
      ]),
    ),
  );
  const wrong = rounds.flatMap((round, index) =>
    sizes.flatMap((size) =>
      ["rpc", "http"]
        .filter((layer) => (round[size]?.[layer]?.codes?.[404] ?? 0) !== round[size]?.[layer]?.requests)
        .map((layer) => `round ${index + 1}, ${sizeName(size)} ${layer}`),
    ),
  );
  if (wrong.length > 0) out.push(`\nNot every answer was a 404 in: ${wrong.join("; ")}.`);
  return out;
}

/** The HTTP load figure of the same requests as `op`, in workerd CPU µs per operation, if one was run. */
function httpCpuUs(results, op) {
  if (op.http === "bulk") return results.bulk.http.cpuUs / (op.per ?? 1);
  if (op.http === undefined) return Number.NaN;
  return med(results.pools[0], `http:${op.http}`, "cpuUs") * op.requests;
}

function costSection(results) {
  const { costs, settings, alarm } = results;
  const out = ["\n### What it costs\n"];
  out.push(
    `Per operation, from the object's own SQLite counters (the rows Cloudflare bills): each operation called ` +
      `${costs.times} times in a row (a 1000-key create ${costs.operations["create-1000"]?.[0]?.calls} times, a page ` +
      `${costs.operations.list?.[0]?.calls} times) on a ` +
      `probe pool of ${int(costs.keys)} keys whose free keys are already in memory (the scan after a start is ` +
      `under "Waking a pool"); medians over ${settings.rounds} round(s). Wall and CPU: the object's time for the ` +
      "operation, net of the same RPC with an empty loop (the loop's writes commit once, at its end: a request's " +
      "own commit, and on Cloudflare its wait for the commit to be confirmed, are not in them; even 10 ms per " +
      `request would be $${dollars(10_000 * DURABLE_OBJECT.memoryGb * DURABLE_OBJECT.gbSeconds * 1e-6)}/M). ` +
      "Priced per million operations at Cloudflare's prices as " +
      `published, ${PRICES_READ} (bench/lib/prices.mjs; SQLite-backed Durable Objects are billed for rows since ` +
      `January 2026): requests $${DURABLE_OBJECT.requests}/M, rows written $${fixed(DURABLE_OBJECT.rowsWritten)}/M, ` +
      `rows read $${DURABLE_OBJECT.rowsRead}/M, duration $${fixed(DURABLE_OBJECT.gbSeconds)}/M GB-s at ` +
      `${DURABLE_OBJECT.memoryGb * 1000} MB while active (here: the wall time measured). The Worker in front is ` +
      `billed apart: $${fixed(WORKER.requests)}/M requests + $${WORKER.cpuMs}/M CPU-ms, its CPU estimated as ` +
      "workerd's CPU per HTTP request in the load above less the object's (`–`: no HTTP scenario sends it).\n",
  );
  const rows = COST_OPERATIONS.map((op) => {
    const figures = perOperation(costs, op);
    const price = objectPrice(figures);
    const worker = workerPrice(figures, httpCpuUs(results, op));
    return [
      `${op.label}${figures.varies ? " *" : ""}`,
      count(figures.requests),
      count(figures.rowsRead),
      count(figures.rowsWritten),
      count(figures.statements),
      fixed(figures.wallUs, 1),
      fixed(figures.cpuUs, 1),
      dollars(price.requests),
      dollars(price.rowsWritten),
      dollars(price.rowsRead),
      dollars(price.duration),
      `**${dollars(price.total)}**`,
      `${dollars(worker.requests)} + ${worker.cpu === null ? "–" : dollars(worker.cpu)}`,
    ];
  });
  out.push(
    table(
      [
        "operation",
        "DO requests",
        "rows read",
        "rows written",
        "statements",
        "wall µs",
        "CPU µs",
        "$/M requests",
        "$/M rows written",
        "$/M rows read",
        "$/M duration",
        "$/M Durable Object",
        "$/M Worker in front (requests + CPU), separate",
      ],
      rows,
    ),
  );
  if (rows.some((row) => row[0].endsWith(" *"))) out.push("\n\\* its counts differed between rounds: medians shown.");
  const opOf = (id) => COST_OPERATIONS.find((op) => op.id === id);
  const [handoff, ordinary, probe] = ["handoff", "assign-unblock", "none-free"].map((id) =>
    perOperation(costs, opOf(id)),
  );
  const ordinaryRounds = netPerRound(costs, opOf("assign-unblock"), "cpuMs");
  const more = median(
    netPerRound(costs, opOf("handoff"), "cpuMs").map((v, i) => v - (ordinaryRounds[i] ?? Number.NaN)),
  );
  out.push(
    `\nA waiting caller handed the key a release freed, against an ordinary assignment and its release: ` +
      `${count(handoff.rowsWritten)} rows written against ${count(ordinary.rowsWritten)}, ` +
      `${count(handoff.rowsRead)} rows read against ${count(ordinary.rowsRead)}, ` +
      `${count(handoff.statements)} statements against ${count(ordinary.statements)}, ` +
      `${fixed(handoff.cpuUs, 1)} µs of CPU in the object against ${fixed(ordinary.cpuUs, 1)} ` +
      `(${fixed(more, 1)} µs more, the median of the rounds' differences; the waiting caller's first try, ` +
      `which finds none free, is the earliest-free probe: ${fixed(probe.cpuUs, 1)} µs, ` +
      `${count(probe.rowsRead)} rows read, ${count(probe.statements)} statements).`,
  );
  if (Number.isFinite(alarm?.bytesPerKey)) {
    const perMillionKeys = (alarm.bytesPerKey * 1e6) / 1e9;
    out.push(
      `\nStored: ${fixed(alarm.bytesPerKey, 0)} bytes per key (\`databaseSize\` at ${int(alarm.keys)} keys, with ` +
        'the trail: each key\'s `created` entry; its other entries are under "Audit trail"), so a ' +
        `million keys hold about ${fixed(perMillionKeys)} GB: $${dollars(perMillionKeys * DURABLE_OBJECT.storedGbMonth)} ` +
        `a month at $${fixed(DURABLE_OBJECT.storedGbMonth)} per GB-month.`,
    );
  }
  return out;
}

function encryptionSection(results) {
  const { encryption, bulk } = results;
  const out = ["\n### Encryption at rest\n"];
  if (encryption == null) {
    out.push("Not measured: the run had no KEY_ENCRYPTION_KEY (`--unencrypted`), so nothing was sealed or imported.");
    return out;
  }
  const subjects = ENCRYPTION_SUBJECTS.filter((subject) => encryption.subjects[subject.id] !== undefined);
  const sample = encryption.subjects.sealed.operations["create-1000"]?.[0]?.calls;
  out.push(
    `The same operations on three probe pools of ${int(encryption.keys)} keys each: ` +
      `${subjects.map((subject) => `**${subject.id}**, ${subject.label}`).join("; ")}. The plain pool is the ` +
      "driver's bundle served without KEY_ENCRYPTION_KEY, as a pool is without one, or a key stored before one " +
      `was configured (opening such a value is a no-op either way). Each operation called ${encryption.times} ` +
      `times in a row (a create or import of 1000, ${sample} times), each round every pool in turn; rows are ` +
      "per operation (per key for a create or an import), CPU is µs of workerd CPU per operation net of the " +
      "empty loop, medians over rounds; a difference is the median of the round-by-round differences. " +
      "Keep-alive opens no value (it rewrites the row, the larger sealed value with it): its difference is what " +
      "the larger row and chance alone give.\n",
  );
  const by = (op, field, format) =>
    subjects
      .map((subject) =>
        subjectsOf(op).includes(subject.id) ? format(perOperation(encryption.subjects[subject.id], op)[field]) : "–",
      )
      .join(" / ");
  const difference = (op, subject) =>
    subjectsOf(op).includes(subject) && subjectsOf(op).includes("plain")
      ? fixed(cpuDifference(encryption, op, subject, "plain"), 1)
      : "–";
  const names = subjects.map((subject) => subject.id).join(" / ");
  out.push(
    table(
      [
        "operation",
        `rows written (${names})`,
        `rows read (${names})`,
        `statements (${names})`,
        `CPU µs (${names})`,
        "sealed − plain, CPU µs",
        "imported − plain, CPU µs",
      ],
      ENCRYPTION_OPERATIONS.map((op) => [
        op.label,
        by(op, "rowsWritten", count),
        by(op, "rowsRead", count),
        by(op, "statements", count),
        by(op, "cpuUs", (v) => fixed(v, 1)),
        difference(op, "sealed"),
        difference(op, "imported"),
      ]),
    ),
  );
  const op = (id) => ENCRYPTION_OPERATIONS.find((candidate) => candidate.id === id);
  const more = (id, subject) => `${fixed(cpuDifference(encryption, op(id), subject, "plain"), 1)} µs`;
  out.push(
    `\nOpening a value, all an assignment of a sealed key does that one of a plain key does not, costs ` +
      `${more("open-1000", "sealed")} of CPU more (an imported value ${more("open-1000", "imported")}); the ` +
      `assignments themselves differ by ${more("assign", "sealed")} (imported ${more("assign", "imported")}), ` +
      `keep-alive, which opens nothing, by ${more("keep-alive", "sealed")} (${more("keep-alive", "imported")}). ` +
      `Importing over HTTP: ${int(bulk.importHttp?.keysPerSecond)} keys/s, ` +
      `${count(perOperation(encryption.subjects.imported, op("import-1000")).rowsWritten)} rows written per key imported.`,
  );
  return out;
}

function wakeSection(results) {
  const { wake } = results;
  const out = ["\n### Waking a pool\n"];
  const warmCalls = results.settings.wakeWarmCalls;
  out.push(
    "workerd stopped and started again on the same storage, as after an eviction or a deploy; each pool's first " +
      "request starts its object (twice: once with an assignment first, once with an info first). An assignment " +
      "needs the free keys in memory and builds them with one scan of `keys`; an info needs no scan. Warm: median " +
      `of the ${warmCalls} same requests after it. Wall: the whole request as the bench sees it (loopback HTTP to ` +
      "the driver Worker, RPC to the object); CPU: workerd's, all threads; rows read: the pool's SQLite counters, " +
      "for the request (the object's start-up reads a few more, noted below); memory: workerd's resident set.\n",
  );
  const cell = (f) => `${fixed(f.wallMs, 1)} / ${fixed(f.cpuMs, 1)} / ${int(f.rowsRead)}`;
  out.push(
    table(
      [
        "pool",
        "keys",
        "first assign: wall ms / CPU ms / rows read",
        "warm assign",
        "scan: rows read per key",
        "first info: wall ms / CPU ms / rows read",
        "warm info",
        "workerd memory before → after the first assign",
      ],
      wake.assign.pools.map((pool, index) => {
        const info = wake.info.pools[index];
        return [
          sizeName(pool.size),
          int(pool.keys),
          cell(pool.first),
          cell(pool.warm),
          fixed((pool.first.rowsRead - pool.warm.rowsRead) / pool.keys, 3),
          cell(info.first),
          cell(info.warm),
          `${mib(pool.rssBefore)} → ${mib(pool.rssAfter)}`,
        ];
      }),
    ),
  );
  const largest = wake.assign.pools.at(-1);
  const startRows = [...wake.assign.pools, ...wake.info.pools].map((pool) => pool.first.startRowsRead);
  const [fewest, most] = [Math.min(...startRows), Math.max(...startRows)];
  out.push(
    `\nThe object's start (its schema check, settings, alarm) reads ${fewest === most ? most : `${fewest}-${most}`} ` +
      `rows more, whatever the pool's size. The scan's rows at $${DURABLE_OBJECT.rowsRead}/M: ` +
      `$${dollars((largest.first.rowsRead * DURABLE_OBJECT.rowsRead) / 1e6)} for a wake of the ${sizeName(largest.size)} pool. ` +
      `workerd held ${mib(wake.assign.rssStart)} before any pool woke.`,
  );
  return out;
}
