import { type SpawnSyncReturns, spawnSync } from "node:child_process";

/**
 * Runs npm as the test runner's own npm (`npm_execpath`, under `npm test`) on the runner's Node, so
 * the same npm and Node run here as in the scripts; plain `npm` from PATH otherwise.
 */
export function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const cli = process.env.npm_execpath;
  const [command, prefix] = cli?.endsWith("npm-cli.js") ? [process.execPath, [cli]] : ["npm", []];
  const result = spawnSync(command, [...prefix, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
  });
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}
