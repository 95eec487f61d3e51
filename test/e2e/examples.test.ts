import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { codeBlocks } from "./markdown";
import { startDevServer } from "./server";
import { commandsOf, expectation, isRunnable, isShell, outputsOf, scriptOf } from "./shell-examples";

/**
 * Every shell example of the README and the docs pages runs, top to bottom, against a fresh
 * `npm start` (the local mode, its own state), and answers what its comment says. A page's blocks
 * run in one shell in order, as a reader pastes them into one terminal.
 */
const PORTS: [number, number] = [9700, 9799];
const LOCAL = "http://localhost:8787";
const PAGES = [
  "README.md",
  ...readdirSync("docs")
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

describe.each(PAGES)("the shell examples of %s", (page) => {
  const blocks = codeBlocks(page).filter(isShell);
  const runnable = blocks.filter(isRunnable);

  it("are each run by this test, or marked no-run because they cannot run against a local server", () => {
    for (const block of blocks) {
      if (isRunnable(block)) continue;
      // Only blocks that install, deploy, set secrets or start servers are exempt.
      expect(block.code, `${page}:${block.line}`).toMatch(/npm |npx |wrangler|openssl|\.dev\.vars/);
    }
  });

  it.runIf(runnable.length > 0)(
    "answer what their comments say, on a fresh npm start",
    { timeout: 120_000 },
    async () => {
      for (const tool of ["curl", "jq"]) {
        expect(spawnSync("sh", ["-c", `command -v ${tool}`]).status, `${tool} is installed`).toBe(0);
      }
      const commands = runnable.flatMap(commandsOf);
      const server = await startDevServer(PORTS, { LOCAL_DEV_NO_AUTH: "true" });
      const cwd = mkdtempSync(join(tmpdir(), "keypool-examples-"));
      try {
        const script = scriptOf(commands).replaceAll(LOCAL, server.origin.replace("127.0.0.1", "localhost"));
        const run = spawnSync("bash", ["-c", script], { cwd, encoding: "utf8", timeout: 60_000 });
        expect(run.stderr).toBe("");
        const outputs = outputsOf(run.stdout);
        commands.forEach((command, index) => {
          const seen = outputs.get(index);
          const where = `${command.where}: ${command.text}\n  answered: ${seen?.output}`;
          expect(seen?.status, where).toBe(0);
          const expected = expectation(command.comment);
          if ("shape" in expected) expect(seen?.output, where).toMatch(expected.shape);
          else expect(seen?.output, where).not.toMatch(/^\{"error"/);
        });
      } finally {
        await server.stop();
        rmSync(cwd, { recursive: true, force: true });
      }
    },
  );
});
