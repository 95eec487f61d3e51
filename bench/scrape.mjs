/**
 * What one scrape of `GET /metrics` (and a page of `GET /pools`) costs with many pools, on this
 * machine: `node bench/scrape.mjs [--pools 1000] [--keys 10] [--runs 5]`.
 *
 * Starts `wrangler dev` in the local mode on a port of its own with state in a temporary folder,
 * makes `--pools` pools of `--keys` keys each, then times scrapes of all of them: warm (every pool's
 * object already running), and cold (the first scrape after a restart of the server on the same
 * state, so each pool's object starts and opens its database for it). For each it prints the wall
 * time, workerd's CPU time (all threads, from /proc), the RPCs the Worker made (one to the directory
 * and one per pool) and the size of the answer. Local workerd runs every object in one process on
 * this machine; deployed, the pools' objects run on Cloudflare's machines, in parallel.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    pools: { type: "string", default: "1000" },
    keys: { type: "string", default: "10" },
    runs: { type: "string", default: "5" },
    port: { type: "string", default: "9870" },
  },
});
const POOLS = Number(values.pools);
const KEYS = Number(values.keys);
const RUNS = Number(values.runs);
const PORT = Number(values.port);
const ORIGIN = `http://127.0.0.1:${PORT}`;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const state = mkdtempSync(join(tmpdir(), "keypool-scrape-"));
try {
  let server = await startServer();
  const names = Array.from({ length: POOLS }, (_, i) => `scrape-${String(i).padStart(5, "0")}`);
  const making = Date.now();
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(names.slice(i, i + 25).map((pool) => send("POST", `/pools/${pool}/keys`, { count: KEYS })));
  }
  console.log(`made ${POOLS} pools of ${KEYS} keys in ${((Date.now() - making) / 1000).toFixed(1)} s`);

  const warm = [];
  for (let run = 0; run < RUNS; run++) warm.push(await scrape(server, "/metrics"));
  report(`GET /metrics, ${POOLS} pools, warm`, warm);
  const pages = [];
  for (let run = 0; run < RUNS; run++) pages.push(await scrape(server, "/pools?limit=100"));
  report("GET /pools?limit=100, warm", pages);

  await stopServer(server);
  server = await startServer();
  report(`GET /metrics, ${POOLS} pools, cold (first scrape after a restart)`, [await scrape(server, "/metrics")]);
  await stopServer(server);
} finally {
  rmSync(state, { recursive: true, force: true });
}

async function scrape(server, path) {
  const cpu = cpuTicks(server.pid);
  const started = performance.now();
  const response = await fetch(ORIGIN + path);
  const text = await response.text();
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text.slice(0, 200)}`);
  const pools = path.startsWith("/metrics")
    ? text.split("\n").filter((line) => line.startsWith("keypool_pool_up{")).length
    : JSON.parse(text).pools.length;
  const down = path.startsWith("/metrics")
    ? text.split("\n").filter((l) => /^keypool_pool_up\{.*\} 0$/.test(l)).length
    : 0;
  return {
    ms,
    cpuMs: ((cpuTicks(server.pid) - cpu) * 1000) / TICKS_PER_SECOND,
    rpcs: 1 + pools,
    bytes: text.length,
    down,
  };
}

function report(what, runs) {
  const median = (key) => runs.map((run) => run[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const { rpcs, bytes, down } = runs[0];
  console.log(
    `${what}: ${median("ms").toFixed(0)} ms wall, ${median("cpuMs").toFixed(0)} ms workerd CPU ` +
      `(median of ${runs.length}; all: ${runs.map((r) => r.ms.toFixed(0)).join(", ")} ms), ${rpcs} RPCs, ` +
      `${bytes} bytes, ${down} pools not answering`,
  );
}

async function send(method, path, json) {
  const response = await fetch(ORIGIN + path, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(json),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The CPU time so far of every workerd process in the server's process group, in clock ticks. */
function cpuTicks(groupId) {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: the fields after the command name, which may hold spaces.
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== groupId || !comm.startsWith("workerd")) continue;
    ticks += Number(fields[11]) + Number(fields[12]); // utime + stime, every thread's
  }
  return ticks;
}

async function startServer() {
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(PORT),
    "--inspector-port",
    String(PORT + 1),
    "--persist-to",
    state,
  ];
  args.push("--var", "LOCAL_DEV_NO_AUTH:true", "--show-interactive-dev-session=false");
  const child = spawn(join("node_modules", ".bin", "wrangler"), args, {
    env: {
      ...process.env,
      // As `npm start` runs it: the project's own Node (the `node` devDependency) first on PATH.
      PATH: `${join(process.cwd(), "node_modules", ".bin")}:${process.env.PATH}`,
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
      CI: "true",
    },
    stdio: "ignore",
    detached: true, // its own process group, so stopping it stops workerd too
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${ORIGIN}/`, { signal: AbortSignal.timeout(2_000) })).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stopServer(child);
  throw new Error("wrangler dev did not answer within 60 s");
}

async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid, "SIGTERM");
  await exited;
}
