/**
 * `node bench/summarize.mjs a.json b.json c.json`: the headline ratios of several bench runs
 * (`npm run bench -- --json FILE`), each run's median over its rounds and the median over the runs.
 * One run on a shared machine can be off by a lot; the median of three is what BENCHMARKS.md quotes.
 */
import { readFileSync } from "node:fs";
import { median } from "./lib/load.mjs";
import { cpuRatio, fixed, int, med, ratio, sizeName, table } from "./lib/report.mjs";
import { OPERATIONS } from "./lib/scenarios.mjs";

const runs = process.argv.slice(2).map((file) => JSON.parse(readFileSync(file, "utf8")));
if (runs.length === 0) throw new Error("usage: node bench/summarize.mjs RUN.json...");

/** "median (run 1, run 2, ...)" of one figure computed per run. */
function across(figure) {
  const values = runs.map(figure);
  return `${fixed(median(values))} (${values.map((v) => fixed(v)).join(", ")})`;
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

out.push("\n### Per run\n");
out.push(
  table(
    [
      "run",
      "load before",
      "bulk keys/s (HTTP)",
      "bound: random / time-ordered ids, keys/s",
      "alarm run, ms CPU: median / p99 / longest",
      "bytes per key",
    ],
    runs.map((run, index) => [
      String(index + 1),
      run.machine.loadBefore,
      int(run.bulk.http.keysPerSecond),
      `${int(run.bulk.randomIds.keysPerSecond)} / ${int(run.bulk.timeIds.keysPerSecond)}`,
      [run.alarm.medianCpuMs, run.alarm.p99CpuMs, run.alarm.maxCpuMs].map((ms) => fixed(ms, 1)).join(" / "),
      fixed(run.alarm.bytesPerKey, 0),
    ]),
  ),
);
console.log(out.join("\n"));
