import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeBlocks } from "./markdown";
import { npm } from "./npm";
import { type DevServer, startDevServer } from "./server";

/**
 * The client as a newcomer gets it: `npm pack` makes the tarball of packages/client, a scratch project
 * installs it with npm, and the README's client example runs there, unchanged, in Node against a
 * KeyPool started as `npm start` starts it (the local mode: no token needed).
 */
const PORTS: [number, number] = [9650, 9699];
const REPO = resolve(".");

let scratch: string;
let packed: { filename: string; files: Array<{ path: string }> };
let server: DevServer;

/** The README's one `js` block: the client example. */
function readmeExample(): string {
  const blocks = codeBlocks("README.md").filter((block) => block.lang === "js");
  expect(blocks, "the README has exactly one js block, the client example").toHaveLength(1);
  return blocks[0]?.code ?? "";
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "keypool-client-"));
  const [server_] = await Promise.all([
    startDevServer(PORTS, { LOCAL_DEV_NO_AUTH: "true" }),
    (async () => {
      const pack = npm(["pack", "--workspace", "@keypool/client", "--pack-destination", scratch, "--json"], REPO);
      [packed] = JSON.parse(pack.stdout);
      writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
      // No registry is needed: the package depends on nothing.
      npm(["install", "--offline", `./${packed.filename}`], scratch);
    })(),
  ]);
  server = server_;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

describe("the client package", () => {
  it("packs the built ES modules, their .d.ts and its README, nothing else", () => {
    const files = packed.files.map((file) => file.path).sort();
    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/index.js", "dist/index.d.ts"]));
    for (const file of files) expect(file).toMatch(/^(package\.json|README\.md|dist\/[\w-]+\.(js|d\.ts))$/);
  });

  it("type-checks the README's example against the installed package's own types (Node ESM resolution)", () => {
    writeFileSync(join(scratch, "example.mts"), readmeExample());
    const tsconfig = {
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2024",
        lib: ["es2024", "esnext.disposable", "dom"],
        types: ["node"],
        typeRoots: [join(REPO, "node_modules", "@types")],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ["example.mts"],
    };
    writeFileSync(join(scratch, "tsconfig.json"), JSON.stringify(tsconfig));
    const tsc = spawnSync(join(REPO, "node_modules", ".bin", "tsc"), ["-p", scratch], { encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });

  it("runs the README's example in Node, as written, against a running KeyPool", () => {
    writeFileSync(join(scratch, "example.mjs"), readmeExample());
    const run = spawnSync(process.execPath, ["example.mjs"], {
      cwd: scratch,
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, KEYPOOL_URL: server.origin },
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0); // and it exits by itself: background renewal keeps no process alive
    const lines = run.stdout.trim().split("\n");
    expect(lines).toEqual([
      // withKey: the stand-in upstream's 429 cooled the first key, and the call was made again with the other.
      "upstream answered 200 done after 2 calls",
      expect.stringMatching(/^holding [0-9a-f-]{36} until \d{4}-\d\d-\d\dT[\d:.]+Z$/),
      "released: true",
    ]);
  });
});
