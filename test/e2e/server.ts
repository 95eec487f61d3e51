import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A `wrangler dev` of this project on 127.0.0.1 with state in a temporary folder of its own. */
export interface DevServer {
  readonly origin: string;
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL to wrangler and workerd), as a crash would; its state stays. */
  kill(): Promise<void>;
  /** Everything `wrangler dev` printed so far (the Worker's log lines included). */
  output(): string;
}

/**
 * Starts the real Worker as `npm start` would, on a free port of `ports` (this test's range), and
 * waits until it answers. `vars` are passed as `--var`, so tests can set tokens and short TTLs.
 * `persistTo` keeps state in a folder the caller owns (and removes), so a second server can start
 * on the same state; without it the state is a temporary folder removed on stop.
 */
export async function startDevServer(
  ports: [number, number],
  vars: Record<string, string>,
  persistTo?: string,
): Promise<DevServer> {
  const port = await freePort(ports[0], ports[1]);
  const inspector = await freePort(port + 1, ports[1]);
  const state = persistTo ?? mkdtempSync(join(tmpdir(), "keypool-e2e-"));
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector)];
  args.push("--persist-to", state, "--show-interactive-dev-session=false");
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const child = spawn(join("node_modules", ".bin", "wrangler"), args, {
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so stopping it stops workerd too
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopGroup(child);
    if (persistTo === undefined) rmSync(state, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(origin, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const kill = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid, "SIGKILL");
    await exited;
  };
  return { origin, stop, kill, output: () => output };
}

async function waitUntilUp(origin: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output()}`);
    try {
      const response = await fetch(`${origin}/dashboard`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev did not answer within 45 s:\n${output()}`);
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

/** The first port in [from, to] nothing listens on. */
async function freePort(from: number, to: number): Promise<number> {
  for (let port = from; port <= to; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}
