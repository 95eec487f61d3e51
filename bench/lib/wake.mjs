/**
 * Waking a pool: workerd stopped and started again on the same storage, so each pool's object starts
 * afresh with its database, as after an eviction or a deploy. The first request that needs the free
 * keys in memory (an assignment, a block, stats) builds them with one scan of `keys`; a first `info`
 * needs no scan. Measured twice, each on a fresh start: once with an assignment as every pool's first
 * request, once with an info.
 *
 * The restarted workerd hosts only the driver Worker, whose Probe class (KeyPool plus counters) is
 * given the production namespace's unique key: it opens the very pools the run filled, by the same
 * names, runs the same code on them, and reads their SQLite counters.
 */
import { median } from "./load.mjs";
import { Workerd } from "./workerd.mjs";

/**
 * `config`: a workerd config serving the driver on `driver` with PROBE as above; `pools`:
 * `[{ size, name, keyId }]`, a key of each for `info`. Returns, per first request, the start's
 * memory and, per pool, the first request's figures, the median of `warmCalls` more, the keys it
 * held, and the process's memory before and after the first request.
 */
export async function measureWake({ config, driver, pools, warmCalls, log }) {
  const wake = {};
  for (const operation of ["assign", "info"]) {
    const server = new Workerd(config);
    try {
      await server.ready(`${driver}/ready`); // an unknown route: answers 404 without starting an object
      const rssStart = server.rssBytes();
      const results = [];
      for (const pool of pools) {
        const url = `${driver}/probe-once/${pool.name}/${operation}?key=${pool.keyId}`;
        const rssBefore = server.rssBytes();
        const first = await timed(server, url);
        const rssAfter = server.rssBytes();
        const warm = [];
        for (let i = 0; i < warmCalls; i++) warm.push(await timed(server, url));
        const { keys } = await (await fetch(`${driver}/probe-storage/${pool.name}`)).json();
        results.push({
          size: pool.size,
          keys,
          first: { ...figuresOf(first), startRowsRead: first.body.sinceStart.rowsRead - first.body.cost.rowsRead },
          warm: {
            wallMs: median(warm.map((w) => w.wallMs)),
            cpuMs: median(warm.map((w) => w.cpuMs)),
            rowsRead: median(warm.map((w) => w.body.cost.rowsRead)),
            statements: median(warm.map((w) => w.body.cost.statements)),
          },
          rssBefore,
          rssAfter,
        });
        log(
          `wake, ${operation} first: ${keys} keys, ${first.wallMs.toFixed(0)} ms, ${first.body.cost.rowsRead} rows read`,
        );
      }
      wake[operation] = { rssStart, pools: results };
    } finally {
      await server.stop();
    }
  }
  return wake;
}

/** One request to the driver: its answer, wall time and workerd's CPU for it. */
async function timed(server, url) {
  const cpuBefore = server.cpuNs();
  const wallBefore = performance.now();
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  const body = await response.json();
  return { body, wallMs: performance.now() - wallBefore, cpuMs: (server.cpuNs() - cpuBefore) / 1e6 };
}

function figuresOf({ body, wallMs, cpuMs }) {
  return { wallMs, cpuMs, ...body.cost };
}
