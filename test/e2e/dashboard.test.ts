import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser";
import { type DevServer, startDevServer } from "./server";

/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * Worker under `wrangler dev`: what an operator sees and does, end to end.
 */

const ADMIN_TOKEN = "e2e-admin-token-0123456789";
const PORTS: [number, number] = [9520, 9599];

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startDevServer(PORTS, { ADMIN_TOKEN, CLIENT_TOKEN: "e2e-client-token-0123456789" }),
    launchChromium(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A new tab (with its own sessionStorage) on the dashboard of `pool`. */
async function openDashboard(pool: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.origin}/dashboard#pool=${pool}`);
  return page;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.fill("#token", token);
  await page.click("#token-form button[type=submit]");
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(server.origin + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
  return response.json();
}

describe("the dashboard", () => {
  it("shows a pool's counts, creates keys, counts down, blocks and deletes a key", async () => {
    const pool = `e2e-${Date.now()}`;
    await api("POST", `/pools/${pool}/keys`, { count: 3 });
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);

    await expect.poll(() => page.textContent("#count-total")).toBe("3");
    await expect.poll(() => page.locator("#keys tr").count()).toBe(3);
    expect(await page.textContent("#count-free")).toBe("3");
    expect(await page.inputValue("#key-ttl")).toBe("300");

    // Create two more through the page.
    await page.fill("#create-count", "2");
    await page.click("#create-form button[type=submit]");
    await expect.poll(() => page.textContent("#message")).toContain("Created 2 keys");
    await expect.poll(() => page.textContent("#count-total")).toBe("5");
    expect(await page.textContent("#counter-created")).toBe("5");

    // The expiry countdown moves by itself.
    const firstRow = page.locator("#keys tr").first();
    const before = await firstRow.locator(".expires").textContent();
    expect(before).toMatch(/^[45]:\d\d$/);
    await expect.poll(() => firstRow.locator(".expires").textContent(), { timeout: 5_000 }).not.toBe(before);

    // Block a key: it shows as blocked with a release countdown, and the counts follow.
    const keyId = await firstRow.getAttribute("data-key-id");
    const row = page.locator(`#keys tr[data-key-id="${keyId}"]`);
    await row.locator('[data-action="toggle"]').click();
    await expect.poll(() => row.locator(".badge").textContent()).toBe("blocked");
    await expect.poll(() => page.textContent("#count-blocked")).toBe("1");
    expect(await row.locator(".releases").textContent()).toMatch(/^[01]:\d\d$/);
    expect(await page.textContent("#message")).toContain("Blocked key");
    const info = await api("GET", `/pools/${pool}/keys/${keyId}/info`);
    expect(info.isBlocked).toBe(true);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard.png", fullPage: true });

    // Keep it alive, then unblock another key that was blocked through the page.
    await row.locator('[data-action="alive"]').click();
    await expect.poll(() => page.textContent("#message")).toContain("alive");
    const other = page.locator(`#keys tr:not([data-key-id="${keyId}"])`).first();
    await other.locator('[data-action="toggle"]').click();
    await expect.poll(() => other.locator(".badge").textContent()).toBe("blocked");
    await other.locator('[data-action="toggle"]').click();
    await expect.poll(() => other.locator(".badge").textContent()).toBe("free");
    expect(await page.textContent("#message")).toContain("Unblocked key");

    // Delete it: the first click asks, the second deletes.
    await row.locator('[data-action="delete"]').click();
    expect(await row.locator('[data-action="delete"]').textContent()).toBe("Confirm delete");
    expect(await page.locator("#keys tr").count()).toBe(5);
    await row.locator('[data-action="delete"]').click();
    await expect.poll(() => page.locator(`#keys tr[data-key-id="${keyId}"]`).count()).toBe(0);
    await expect.poll(() => page.textContent("#count-total")).toBe("4");
    expect(await page.textContent("#counter-deleted")).toBe("1");
    await page.close();
  });

  it("edits the pool's settings, and shows the API's error for a bad value", async () => {
    const pool = `e2e-settings-${Date.now()}`;
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);
    // Nobody made this pool yet: the page says so; setting its settings makes it.
    await expect.poll(() => page.textContent("#message")).toContain("No such pool");
    await page.fill("#key-ttl", "120");
    await page.click("#settings-form button[type=submit]");
    await expect.poll(() => page.textContent("#message")).toContain("key TTL 120 s");
    await expect.poll(() => page.textContent("#count-total")).toBe("0");
    expect((await api("GET", `/pools/${pool}`)).settings.keyTtlSeconds).toBe(120);

    await page.fill("#key-ttl", "0.0001");
    await page.click("#settings-form button[type=submit]");
    const alert = page.locator("#message[role=alert]");
    await expect.poll(() => alert.textContent()).toMatch(/keyTtlSeconds.*\(400\)/);
    expect((await api("GET", `/pools/${pool}`)).settings.keyTtlSeconds).toBe(120);
    await page.close();
  });

  it("asks for the admin token, and shows no local-mode banner, on a server with tokens", async () => {
    const page = await openDashboard(`e2e-ask-${Date.now()}`);
    await expect.poll(() => page.textContent("#message")).toContain("needs an admin token");
    expect(await page.isVisible("#token-form")).toBe(true);
    expect(await page.isVisible("#local-mode")).toBe(false);
    await page.close();
  });

  it("in the local mode (npm start), says no token is needed and shows the pool without one", async () => {
    const local = await startDevServer(PORTS, { LOCAL_DEV_NO_AUTH: "true" });
    try {
      const pool = `e2e-local-${Date.now()}`;
      await fetch(`${local.origin.replace("127.0.0.1", "localhost")}/pools/${pool}/keys`, { method: "POST" });
      const page = await browser.newPage();
      // The local mode serves loopback host names only: the page is opened as localhost.
      await page.goto(`${local.origin.replace("127.0.0.1", "localhost")}/dashboard#pool=${pool}`);
      await expect.poll(() => page.isVisible("#local-mode")).toBe(true);
      expect(await page.textContent("#local-mode")).toContain("Local mode: no token needed.");
      expect(await page.isVisible("#token-form")).toBe(false);
      await expect.poll(() => page.textContent("#count-total")).toBe("1");
      await page.screenshot({ path: "test-results/dashboard-local.png" });
      await page.close();
    } finally {
      await local.stop();
    }
  });

  it("rejects a wrong token and shows no data", async () => {
    const pool = `e2e-token-${Date.now()}`;
    await api("POST", `/pools/${pool}/keys`, { count: 2 });
    const page = await openDashboard(pool);
    await signIn(page, "not-the-token");
    const alert = page.locator("#message[role=alert]");
    await expect.poll(() => alert.textContent()).toContain("refused the admin token (401)");
    expect(await page.textContent("#count-total")).toBe("–");
    expect(await page.locator("#keys tr").count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.getItem("keypool.adminToken"))).toBeNull();
    await page.close();
  });
});
