import { resolve } from "node:path";
import { build, type Rolldown } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestHarness } from "wrangler";
import { KeyPoolClient, KeyPoolError } from "../../packages/client/src/index.js";
import { launchChromium } from "./browser";

/**
 * The client in Node (>= 22) and in a browser (Debian's Chromium), over real HTTP to KeyPool run
 * locally by wrangler's test harness, and the example consumer run as a Worker of its own, reaching
 * KeyPool through its [[services]] binding. Time-dependent renewal is tested in workerd with a fake
 * clock (test/client/lease.test.ts); here the point is that the same code runs unchanged everywhere.
 */
const POOL = `node-${crypto.randomUUID()}`;
const ADMIN_TOKEN = `admin-${crypto.randomUUID()}`;
const CLIENT_TOKEN = `client-${crypto.randomUUID()}`;
const server = createTestHarness({
  workers: [
    { configPath: "./wrangler.toml", secrets: { ADMIN_TOKEN, CLIENT_TOKEN } },
    {
      configPath: "./examples/consumer/wrangler.toml",
      vars: { KEYPOOL_POOL: POOL },
      secrets: { KEYPOOL_TOKEN: CLIENT_TOKEN },
    },
  ],
});
/** Creates and deletes keys (admin), and holds them as callers do (client role). */
let admin: KeyPoolClient;
let client: KeyPoolClient;
let baseUrl: string;

beforeAll(async () => {
  const { url } = await server.listen();
  baseUrl = url.href;
  admin = new KeyPoolClient({ baseUrl, token: ADMIN_TOKEN, pool: POOL });
  client = new KeyPoolClient({ baseUrl, token: CLIENT_TOKEN, pool: POOL });
});

afterAll(() => server.close());

describe("the client in Node", () => {
  it("runs on Node 22 or later", () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(22);
  });

  it("creates, acquires, renews and releases over HTTP with Node's fetch, timers and AbortSignal", async () => {
    const { keyIds } = await admin.createKeys(2);
    let keyId: string;
    {
      await using lease = await client.acquire({ holdSeconds: 60 });
      keyId = lease.keyId;
      expect(keyIds).toContain(keyId);
      expect(lease.expiresAt).toBeDefined();
      await lease.renew();
      expect(await client.info(keyId)).toMatchObject({ isBlocked: true });
      expect(lease.signal.aborted).toBe(false);
    }
    expect(await client.info(keyId)).toMatchObject({ isBlocked: false });
  });

  it("throws typed errors", async () => {
    const error = await client.info(crypto.randomUUID()).catch((e) => e);
    expect(error).toBeInstanceOf(KeyPoolError);
    expect(error).toMatchObject({ status: 404, message: "Key not found" });
    await expect(client.createKey()).rejects.toMatchObject({ status: 403 }); // admin only
  });
});

describe("the example consumer Worker", () => {
  it("signs with a key it holds through its service binding to KeyPool, then releases it", async () => {
    const { keyId } = await admin.createKey();
    const { key } = await client.getKey(keyId);
    await admin.createKey(); // a second free key, so the consumer may draw either
    const consumer = server.getWorker("keypool-consumer");
    const response = await consumer.fetch("http://consumer.example/sign", { method: "POST", body: "hello" });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { keyId: string; signature: string };
    expect(JSON.stringify(answer)).not.toContain(key); // the key value never leaves the consumer
    // Released at the end of its request: every key is free again.
    const infos = await Promise.all([keyId, answer.keyId].map((id) => client.info(id)));
    expect(infos.map((i) => i.isBlocked)).toEqual([false, false]);
  });

  it("answers 503 with Retry-After when no key is free", async () => {
    // Block every key of the pool (the earlier tests made four).
    const busy: string[] = [];
    for (let i = 0; i < 100; i++) {
      const taken = await client.assign().catch((e: KeyPoolError) => e);
      if (taken instanceof KeyPoolError) break;
      busy.push(taken.keyId);
    }
    const response = await server.getWorker("keypool-consumer").fetch("http://consumer.example/sign", {
      method: "POST",
      body: "x",
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(busy).toHaveLength(4);
  });
});

/**
 * Runs in the page: loads the bundle as a module and uses it as a web app would. Plain JavaScript in
 * a string, so the test runner's own module transform leaves its `import()` alone.
 */
const IN_THE_PAGE = `async ({ code, baseUrl, token, pool }) => {
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const { KeyPoolClient, KeyPoolError } = await import(url);
  const keypool = new KeyPoolClient({ baseUrl, token, pool });
  const lease = await keypool.acquire({ holdSeconds: 60 });
  await lease.renew();
  const held = (await keypool.info(lease.keyId)).isBlocked;
  const released = await lease.release();
  const free = !(await keypool.info(lease.keyId)).isBlocked;
  const error = await keypool.info(crypto.randomUUID()).catch((e) => e);
  return {
    keyId: lease.keyId,
    held,
    released,
    free,
    aborted: lease.signal.aborted,
    typedError: error instanceof KeyPoolError && error.status === 404,
    disposable: typeof lease[Symbol.asyncDispose] === "function",
  };
}`;

/**
 * The client bundled as a web app's bundler does it: Vite builds a module that imports
 * `@keypool/client` (the workspace's package, as an app that installed it would), and what went in.
 */
async function bundleClient(): Promise<{ code: string; modules: string[] }> {
  const entry = resolve("test/e2e/fixtures/web-app.ts");
  const result = await build({
    configFile: false,
    logLevel: "silent",
    build: { lib: { entry, formats: ["es"], fileName: "client" }, write: false, minify: true },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const [chunk, ...others] = outputs.flatMap((output) => output.output);
  if (chunk?.type !== "chunk" || others.length > 0) throw new Error("expected the client as one chunk");
  return { code: chunk.code, modules: Object.keys(chunk.modules).filter((module) => module !== entry) };
}

describe("the client in a browser", () => {
  it("bundles from the package to one module of its own code only: nothing but fetch at run time", async () => {
    const { modules } = await bundleClient();
    const clientDir = resolve("packages/client/dist");
    expect(modules.length).toBeGreaterThan(5);
    for (const module of modules) expect(module.startsWith(clientDir), module).toBe(true);
  });

  it("acquires, renews and releases a key from a page on another origin (CORS)", async () => {
    const { keyIds } = await admin.createKeys(1);
    const { code } = await bundleClient();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      // A page on another origin (localhost, not 127.0.0.1), so every call is a CORS request; both
      // are loopback, which Chromium's private-network rules require of a page that calls loopback.
      const otherOrigin = new URL(baseUrl);
      otherOrigin.hostname = "localhost";
      await page.goto(new URL("/openapi.json", otherOrigin).href);
      const input = { code, baseUrl, token: CLIENT_TOKEN, pool: POOL };
      const seen = await page.evaluate(`(${IN_THE_PAGE})(${JSON.stringify(input)})`);
      expect(seen).toEqual({
        keyId: keyIds[0],
        held: true,
        released: true,
        free: true,
        aborted: true,
        typedError: true,
        disposable: true,
      });
    } finally {
      await browser.close();
    }
  });
});
