/**
 * Turns the raw figures of a bench run into markdown. Every throughput is also shown as a ratio to
 * its ceiling from the same round (medians over rounds), which is what holds still on a noisy machine.
 */
import { median } from "./load.mjs";
import { CEILINGS, OPERATIONS } from "./scenarios.mjs";

export const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
export const fixed = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
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

function non2xx(pools) {
  const notes = [];
  for (const pool of pools) {
    for (const [index, round] of pool.rounds.entries()) {
      for (const [id, figures] of Object.entries(round)) {
        if (figures.non2xx > 0) {
          notes.push(`${sizeName(pool.size)} round ${index + 1} ${id}: ${figures.statuses} of ${figures.requests}`);
        }
      }
    }
  }
  return notes;
}

export function report(results) {
  const { settings, machine, pools, bulk, alarm, coldStart, bundles } = results;
  const out = [];
  const command = settings.quick ? "npm run bench -- --quick" : "npm run bench";
  out.push(
    `Command: \`${command}\` (${settings.rounds} round(s) of ${settings.seconds} s per scenario, ` +
      `${settings.connections} connections; the run took ${Math.round(results.durationSeconds)} s).`,
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
        [
          `storage per key at ${int(alarm.keys)} keys (\`databaseSize\`)`,
          `${fixed(alarm.bytesPerKey, 0)} bytes (${int(alarm.databaseSize)} bytes)`,
        ],
      ],
    ),
  );

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
