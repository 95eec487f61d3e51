/**
 * Builds Workers the way a deploy does and serves them on the `workerd` binary itself: no wrangler
 * dev, no proxy, no inspector, so what the load generator measures is the runtime and our code.
 */
import { execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { promisify } from "node:util";

/** The workerd binary that wrangler and the tests use, from node_modules, and its version. */
const { default: workerdBinary, version: workerdVersion } = createRequire(import.meta.url)("workerd");

export { workerdVersion };

const BUILD_ENV = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

/**
 * `wrangler deploy --dry-run --outdir`: the exact bundle a deploy would upload. `entry` overrides the
 * config's `main` (bench-only Workers reuse wrangler.toml for the date, flags and aliases).
 * Resolves to the path of the bundled module.
 */
export async function build(root, outdir, entry) {
  const args = ["deploy", "--dry-run", "--outdir", outdir];
  if (entry !== undefined) args.splice(1, 0, entry, "--name", "keypool-bench");
  try {
    await promisify(execFile)(join(root, "node_modules", ".bin", "wrangler"), args, { cwd: root, env: BUILD_ENV });
  } catch (error) {
    throw new Error(`wrangler build of ${entry ?? "the Worker"} failed:\n${error.stderr ?? error}`);
  }
  const module = readdirSync(outdir).find((name) => name.endsWith(".js"));
  if (module === undefined) throw new Error(`wrangler wrote no module to ${outdir}`);
  return join(outdir, module);
}

/** The deploy settings of wrangler.toml that a workerd config needs: the date, the flags and [vars]. */
export function readWranglerToml(root) {
  const text = readFileSync(join(root, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  if (date === undefined) throw new Error("wrangler.toml has no compatibility_date");
  const flags = [...(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map(
    (m) => m[1],
  );
  const vars = {};
  const section = /^\[vars\]\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(text)?.[1] ?? "";
  for (const [, name, value] of section.matchAll(/^(\w+)\s*=\s*"([^"]*)"/gm)) vars[name] = value;
  return { date, flags, vars };
}

const RATE_LIMITER_MODULE = "keypool-bench:rate-limiter";
const RATE_LIMITER_SOURCE = join(import.meta.dirname, "..", "workers", "rate-limiter.js");

/**
 * A workerd config (Cap'n Proto text). `workers` is a list of
 * `{ name, module, port?, vars, rateLimiter?, durableObjects: [{ binding, className, service?, uniqueKey? }] }`:
 * classes without `service` are hosted by this Worker with SQLite storage on `storageDir`; the
 * others point at a class another Worker hosts, so several Workers share one namespace. A hosted
 * class's `uniqueKey` (default `{worker}-{class}`) derives its objects' ids and names their storage:
 * a class given another namespace's key opens that namespace's objects by the same names.
 * `rateLimiter: "NAME"` binds a stand-in for the rate limiting binding under that name.
 */
export function writeConfig(dir, { date, flags }, workers, storageDir) {
  const services = [];
  const sockets = [];
  const definitions = [];
  workers.forEach((worker, index) => {
    const id = `w${index}`;
    services.push(`(name = "${worker.name}", worker = .${id})`);
    if (worker.port !== undefined) {
      sockets.push(
        `(name = "${worker.name}", address = "127.0.0.1:${worker.port}", http = (), service = "${worker.name}")`,
      );
    }
    const bindings = [];
    const owned = [];
    for (const object of worker.durableObjects ?? []) {
      if (object.service === undefined) {
        bindings.push(`(name = "${object.binding}", durableObjectNamespace = "${object.className}")`);
        owned.push(
          `(className = "${object.className}", uniqueKey = "${object.uniqueKey ?? `${worker.name}-${object.className}`}", enableSql = true)`,
        );
      } else {
        bindings.push(
          `(name = "${object.binding}", durableObjectNamespace = (className = "${object.className}", serviceName = "${object.service}"))`,
        );
      }
    }
    if (worker.rateLimiter !== undefined) {
      bindings.push(
        `(name = "${worker.rateLimiter}", wrapped = (moduleName = "${RATE_LIMITER_MODULE}", innerBindings = [
      (name = "limit", json = "1000000000"), (name = "period", json = "60") ]))`,
      );
    }
    for (const [name, value] of Object.entries(worker.vars ?? {})) {
      bindings.push(`(name = "${name}", text = ${JSON.stringify(value)})`);
    }
    const moduleName = worker.module.split("/").pop();
    definitions.push(`const ${id} :Workerd.Worker = (
  modules = [ (name = "${moduleName}", esModule = embed "${relative(dir, worker.module)}") ],
  compatibilityDate = "${date}",
  compatibilityFlags = [ ${flags.map((f) => `"${f}"`).join(", ")} ],
  bindings = [ ${bindings.join(",\n    ")} ],
  durableObjectNamespaces = [ ${owned.join(", ")} ],
  ${owned.length > 0 ? 'durableObjectStorage = (localDisk = "storage"),' : ""}
);`);
  });
  services.push(`(name = "storage", disk = (path = ${JSON.stringify(storageDir)}, writable = true))`);
  const text = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ ${services.join(",\n    ")} ],
  sockets = [ ${sockets.join(",\n    ")} ],
  extensions = [ (modules = [ (name = "${RATE_LIMITER_MODULE}", internal = true,
    esModule = embed "${relative(dir, RATE_LIMITER_SOURCE)}") ]) ],
);
${definitions.join("\n")}
`;
  const path = join(dir, "config.capnp");
  writeFileSync(path, text);
  return path;
}

/** A running `workerd serve`; `cpuNs()` is the CPU time all its threads have used so far. */
export class Workerd {
  constructor(configPath) {
    this.startedAt = process.hrtime.bigint();
    this.process = spawn(workerdBinary, ["serve", configPath], { stdio: ["ignore", "ignore", "pipe"] });
    this.stderr = "";
    this.process.stderr.on("data", (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.process.once("exit", resolve));
  }

  get pid() {
    return this.process.pid;
  }

  /** Nanoseconds of CPU used by every thread of the process (per-thread schedstat, ns resolution). */
  cpuNs() {
    let total = 0;
    const tasks = `/proc/${this.pid}/task`;
    for (const tid of readdirSync(tasks)) {
      try {
        total += Number(readFileSync(`${tasks}/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread ended between listing and reading: its time is lost either way.
      }
    }
    return total;
  }

  /** Bytes of memory the process holds (resident set size). */
  rssBytes() {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"))?.[1];
    return kib === undefined ? Number.NaN : Number(kib) * 1024;
  }

  /** Waits until `url` answers (any status), within `timeoutMs`. Returns wall ms since spawn. */
  async ready(url, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.process.exitCode !== null) throw new Error(`workerd exited: ${this.stderr}`);
      try {
        await (await fetch(url)).arrayBuffer();
        return Number(process.hrtime.bigint() - this.startedAt) / 1e6;
      } catch {
        if (Date.now() > deadline) throw new Error(`workerd did not answer ${url} in ${timeoutMs} ms: ${this.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
  }

  async stop() {
    if (this.process.exitCode === null) this.process.kill("SIGTERM");
    await this.exited;
  }
}
