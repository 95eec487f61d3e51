/**
 * `node bench/summarize.mjs a.json b.json c.json`: the headline ratios of several bench runs
 * (`npm run bench -- --json FILE`), each run's median over its rounds and the median over the runs.
 * One run on a shared machine can be off by a lot; the median of three is what BENCHMARKS.md quotes.
 * Rows and statements per operation are the same in every run: they are shown once, and flagged if not.
 */
import { readFileSync } from "node:fs";
import { AUDIT_OPERATIONS, AUDIT_READS, AUDIT_SEQUENCES } from "./lib/audit.mjs";
import { AUDIT_TARGET, bytesPerEntry, comparison } from "./lib/audit-report.mjs";
import {
  COST_OPERATIONS,
  cpuDifference,
  ENCRYPTION_OPERATIONS,
  ENCRYPTION_SUBJECTS,
  objectPrice,
  perOperation,
  subjectsOf,
} from "./lib/costs.mjs";
import { median } from "./lib/load.mjs";
import { count, cpuRatio, dollars, fixed, int, med, ratio, sizeName, table } from "./lib/report.mjs";
import { OPERATIONS } from "./lib/scenarios.mjs";

const runs = process.argv.slice(2).map((file) => JSON.parse(readFileSync(file, "utf8")));
if (runs.length === 0) throw new Error("usage: node bench/summarize.mjs RUN.json...");

/** "median (run 1, run 2, ...)" of one figure computed per run. */
function across(figure, format = fixed, of = runs) {
  const values = of.map(figure);
  return `${format(median(values))} (${values.map((v) => format(v)).join(", ")})`;
}

const out = [`${runs.length} runs; each cell: median over the runs (each run's own figure).`];
const sizes = runs[0].pools.map((pool) => pool.size);
const poolOf = (run, size) => run.pools.find((pool) => pool.size === size);

/** One row per operation, one column per layer and pool size, each cell `figure` across the runs. */
function ratioTable(title, figure) {
  out.push(`\n### ${title}\n`);
  out.push(
    table(
      ["operation", "ceiling", ...sizes.flatMap((size) => [`object ${sizeName(size)}`, `HTTP ${sizeName(size)}`])],
      OPERATIONS.map((op) => [
        `\`${op.endpoint}\``,
        op.ceiling,
        ...sizes.flatMap((size) =>
          ["rpc", "http"].map((layer) =>
            across((run) => figure(poolOf(run, size), `${layer}:${op.endpoint}`, op.ceiling)),
          ),
        ),
      ]),
    ),
  );
}

ratioTable("× ceiling by CPU per request (1.00 = costs what the ceiling costs)", cpuRatio);
ratioTable("× ceiling by req/s (same round)", ratio);

if (sizes.length > 1) {
  const [first, last] = [sizes[0], sizes.at(-1)];
  out.push(
    `\n### ${sizeName(last)} keys against ${sizeName(first)}: CPU per request at ${sizeName(first)} over at ${sizeName(last)}\n`,
  );
  out.push(
    table(
      ["operation", "object", "HTTP"],
      OPERATIONS.map((op) => [
        `\`${op.endpoint}\``,
        ...["rpc", "http"].map((layer) =>
          across(
            (run) =>
              med(poolOf(run, first), `${layer}:${op.endpoint}`, "cpuUs") /
              med(poolOf(run, last), `${layer}:${op.endpoint}`, "cpuUs"),
          ),
        ),
      ]),
    ),
  );
}

// Runs from before the bench measured costs and wakes have neither.
const costRuns = runs.filter((run) => run.costs !== undefined);
if (costRuns.length > 0) {
  out.push(`\n### What it costs (${costRuns.length} runs)\n`);
  out.push(
    "Rows and statements per operation (the same in every run, else marked `differs`); µs and $ per million operations (Durable Object only): median over the runs (each run's own figure).\n",
  );
  out.push(
    table(
      ["operation", "rows read", "rows written", "statements", "wall µs", "CPU µs", "$/M Durable Object"],
      COST_OPERATIONS.map((op) => {
        const figures = costRuns.map((run) => perOperation(run.costs, op));
        const same = (field) => {
          const values = new Set(figures.map((f) => f[field]));
          return values.size === 1 ? count(figures[0][field]) : `differs: ${[...values].map(count).join(", ")}`;
        };
        const one = (run) => perOperation(run.costs, op);
        return [
          op.label,
          same("rowsRead"),
          same("rowsWritten"),
          same("statements"),
          across(
            (run) => one(run).wallUs,
            (v) => fixed(v, 1),
            costRuns,
          ),
          across(
            (run) => one(run).cpuUs,
            (v) => fixed(v, 1),
            costRuns,
          ),
          across((run) => objectPrice(one(run)).total, dollars, costRuns),
        ];
      }),
    ),
  );
}

// Runs from before encryption at rest, and `--unencrypted` runs, have no comparison.
const encryptionRuns = runs.filter((run) => run.encryption != null);
if (encryptionRuns.length > 0) {
  out.push(`\n### Encryption at rest (${encryptionRuns.length} runs)\n`);
  out.push(
    "Rows written per operation (per key for a create or an import; the same in every run, else marked `differs`), " +
      "then CPU µs per operation and the round-by-round difference from the plain pool: median over the runs " +
      "(each run's own figure).\n",
  );
  const ids = ENCRYPTION_SUBJECTS.map((subject) => subject.id);
  const us = (v) => fixed(v, 1);
  out.push(
    table(
      [
        "operation",
        `rows written (${ids.join(" / ")})`,
        ...ids.map((id) => `CPU µs, ${id}`),
        "sealed − plain",
        "imported − plain",
      ],
      ENCRYPTION_OPERATIONS.map((op) => {
        const has = (id) => subjectsOf(op).includes(id);
        const rows = ids
          .map((id) => {
            if (!has(id)) return "–";
            const values = new Set(
              encryptionRuns.map((run) => perOperation(run.encryption.subjects[id], op).rowsWritten),
            );
            return values.size === 1 ? count([...values][0]) : `differs: ${[...values].map(count).join(", ")}`;
          })
          .join(" / ");
        const cpu = (id) =>
          has(id) ? across((run) => perOperation(run.encryption.subjects[id], op).cpuUs, us, encryptionRuns) : "–";
        const difference = (id) =>
          has(id) && has("plain")
            ? across((run) => cpuDifference(run.encryption, op, id, "plain"), us, encryptionRuns)
            : "–";
        return [op.label, rows, ...ids.map(cpu), difference("sealed"), difference("imported")];
      }),
    ),
  );
}

// Runs from before key health (issue 14) have no earliest-free probe and no handoff.
const healthRuns = runs.filter((run) => run.probe !== undefined);
if (healthRuns.length > 0) {
  out.push(`\n### Key health (${healthRuns.length} runs)\n`);
  out.push(
    "The earliest-free probe (`GET /keys` with no key free: 404 + Retry-After), CPU µs per request, in the object " +
      "(net of the loop) and over RPC and HTTP with the sizes taken in turn; then the handoff to a waiting caller " +
      "over an ordinary assignment and its release, CPU per pair: median over the runs (each run's own figure).\n",
  );
  const us = (v) => fixed(v, 1);
  const probeOf = (run, size, layer) => median(run.probe.rounds.map((round) => round[size]?.[layer]?.cpuUs));
  out.push(
    table(
      ["pool size", "probe in the object", "probe, RPC", "probe, HTTP", "handoff / ordinary, CPU"],
      sizes.map((size) => [
        sizeName(size),
        across((run) => median((run.probe.object ?? []).map((round) => round[size]?.cpuUs)), us, healthRuns),
        across((run) => probeOf(run, size, "rpc"), us, healthRuns),
        across((run) => probeOf(run, size, "http"), us, healthRuns),
        across(
          (run) =>
            median(
              poolOf(run, size).rounds.map((round) => round["pair:handoff"]?.cpuUs / round["pair:ordinary"]?.cpuUs),
            ),
          fixed,
          healthRuns,
        ),
      ]),
    ),
  );
}

// Runs from before the audit trail (issue 15) have no comparison.
const auditRuns = runs.filter((run) => run.audit != null);
if (auditRuns.length > 0) {
  out.push(`\n### Audit trail (${auditRuns.length} runs)\n`);
  out.push(
    "Each write with the trail and without, in the object: rows written (the same in every run, else marked " +
      "`differs`), CPU µs with and without, what the trail adds (each run's median of its round-by-round " +
      "differences) and its share of the object's work for the write without (commits excluded); per request " +
      `(RPCs one after the other, each committed alone: the target, at most ${AUDIT_TARGET * 100}%, is judged on ` +
      "these); bytes per entry; a page's CPU in the object: median over the runs (each run's own figure).\n",
  );
  const us = (v) => fixed(v, 1);
  const percent = (v) => `${fixed(v * 100, 0)}%`;
  const same = (values) => {
    const distinct = new Set(values.map((v) => count(v)));
    return distinct.size === 1 ? [...distinct][0] : `differs: ${[...distinct].join(", ")}`;
  };
  out.push(
    table(
      ["operation", "rows written: with / without", "CPU µs with", "CPU µs without", "added µs", "added / without"],
      AUDIT_OPERATIONS.filter((op) => !op.onlyWith).map((op) => {
        const of = (run) => comparison(run.audit.writes, op);
        return [
          op.label,
          `${same(auditRuns.map((run) => of(run).on.rowsWritten))} / ${same(auditRuns.map((run) => of(run).off.rowsWritten))}`,
          across((run) => of(run).on.cpuUs, us, auditRuns),
          across((run) => of(run).off.cpuUs, us, auditRuns),
          across((run) => of(run).added, us, auditRuns),
          across((run) => of(run).share, percent, auditRuns),
        ];
      }),
    ),
  );
  const append = AUDIT_OPERATIONS.find((op) => op.onlyWith);
  out.push(
    `\n${append.label[0]?.toUpperCase()}${append.label.slice(1)}: ${across((run) => perOperation(run.audit.writes.on, append).cpuUs, us, auditRuns)} µs.\n`,
  );
  const endpoints = Object.keys(auditRuns[0].audit.load.rounds[0] ?? {});
  const load = (run, endpoint, f) => median(run.audit.load.rounds.map((round) => f(round[endpoint])));
  const labelOf = (endpoint) => AUDIT_SEQUENCES.find((write) => write.id === endpoint)?.label ?? `\`${endpoint}\``;
  out.push(
    table(
      ["requests (RPCs one after the other)", "CPU µs/req with", "without", "added µs", "added / without"],
      endpoints.map((endpoint) => [
        labelOf(endpoint),
        across((run) => load(run, endpoint, (r) => r.on.cpuUs), int, auditRuns),
        across((run) => load(run, endpoint, (r) => r.off.cpuUs), int, auditRuns),
        across((run) => load(run, endpoint, (r) => r.on.cpuUs - r.off.cpuUs), int, auditRuns),
        across((run) => load(run, endpoint, (r) => r.on.cpuUs / r.off.cpuUs - 1), percent, auditRuns),
      ]),
    ),
  );
  const bytes = (which) =>
    across(
      (run) => bytesPerEntry(run.audit.storage, which).net,
      (v) => fixed(v, 0),
      auditRuns,
    );
  out.push(
    `\nBytes per entry: keyed (assign + unblock) ${bytes("cycles")}; with no key (settings change) ${bytes("changes")}.\n`,
  );
  const trails = Object.keys(auditRuns[0].audit.reads).map(Number);
  out.push(
    table(
      ["trail", ...AUDIT_READS.map((read) => `${read.label}: rows read, CPU µs`)],
      trails.map((size) => [
        `${int(auditRuns[0].audit.reads[size].entries)} entries`,
        ...AUDIT_READS.map((read) => {
          const one = (run) => perOperation(run.audit.reads[size], { id: read.id, requests: 1 });
          return `${same(auditRuns.map((run) => one(run).rowsRead))}, ${across((run) => one(run).cpuUs, us, auditRuns)}`;
        }),
      ]),
    ),
  );
  const httpSizes = Object.keys(auditRuns[0].audit.httpReads.entries).map(Number);
  const page = (run, size, name, field) =>
    median(run.audit.httpReads.rounds.map((round) => round[size]?.[name]?.[field]));
  out.push("\nOver HTTP, CPU µs per request (`GET /pools/{pool}/audit`), beside the no-op RPC:\n");
  out.push(
    table(
      ["trail", "no-op", "newest page", "a key's history"],
      httpSizes.map((size) => [
        `${int(auditRuns[0].audit.httpReads.entries[size])} entries`,
        ...["noop", "newest", "key"].map((name) => across((run) => page(run, size, name, "cpuUs"), int, auditRuns)),
      ]),
    ),
  );
}

const wakeRuns = runs.filter((run) => run.wake !== undefined);
if (wakeRuns.length > 0) {
  out.push(`\n### Waking a pool (${wakeRuns.length} runs)\n`);
  out.push(
    "First request after workerd restarts on the same storage, and warm ones: wall ms / workerd CPU ms, each a median over the runs (each run's own figure); rows read by the first assignment, less a warm one's, per key in the pool.\n",
  );
  const poolAt = (run, operation, index) => run.wake[operation].pools[index];
  const ms = (v) => fixed(v, 1);
  out.push(
    table(
      [
        "pool",
        "first assign wall ms",
        "first assign CPU ms",
        "warm assign wall ms",
        "first info wall ms",
        "warm info wall ms",
        "scan: rows read per key",
        "memory after the first assign, MiB",
      ],
      wakeRuns[0].wake.assign.pools.map((pool, index) => [
        sizeName(pool.size),
        across((run) => poolAt(run, "assign", index).first.wallMs, ms, wakeRuns),
        across((run) => poolAt(run, "assign", index).first.cpuMs, ms, wakeRuns),
        across((run) => poolAt(run, "assign", index).warm.wallMs, ms, wakeRuns),
        across((run) => poolAt(run, "info", index).first.wallMs, ms, wakeRuns),
        across((run) => poolAt(run, "info", index).warm.wallMs, ms, wakeRuns),
        across(
          (run) => {
            const pool = poolAt(run, "assign", index);
            return (pool.first.rowsRead - pool.warm.rowsRead) / pool.keys;
          },
          (v) => fixed(v, 3),
          wakeRuns,
        ),
        across(
          (run) => poolAt(run, "assign", index).rssAfter / 2 ** 20,
          (v) => fixed(v, 0),
          wakeRuns,
        ),
      ]),
    ),
  );
}

out.push("\n### Per run\n");
out.push(
  table(
    [
      "run",
      "load before",
      "bulk keys/s (HTTP)",
      "import keys/s (HTTP / RPC)",
      "bound: random / time-ordered ids, keys/s",
      "alarm run, ms CPU: median / p99 / longest",
      "bytes per key",
    ],
    runs.map((run, index) => [
      String(index + 1),
      run.machine.loadBefore,
      int(run.bulk.http.keysPerSecond),
      run.bulk.importHttp === undefined
        ? "–"
        : `${int(run.bulk.importHttp.keysPerSecond)} / ${int(run.bulk.importRpc.keysPerSecond)}`,
      `${int(run.bulk.randomIds.keysPerSecond)} / ${int(run.bulk.timeIds.keysPerSecond)}`,
      [run.alarm.medianCpuMs, run.alarm.p99CpuMs, run.alarm.maxCpuMs].map((ms) => fixed(ms, 1)).join(" / "),
      fixed(run.alarm.bytesPerKey, 0),
    ]),
  ),
);
console.log(out.join("\n"));
