import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser";
import { type DevServer, startDevServer } from "./server";

/**
 * The API docs in a real browser (Debian's Chromium) against the real Worker under `wrangler dev`.
 * `/docs` is a static page (public/docs.html) running Swagger UI from the Worker's own assets, which
 * the `[build]` step of wrangler.toml copies from swagger-ui-dist before `wrangler dev` starts: the
 * page must render every operation of /openapi.json and work with no other host reachable.
 */

const ADMIN_TOKEN = "e2e-docs-admin-token-0123456789";
const PORTS: [number, number] = [9600, 9649];

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startDevServer(PORTS, { ADMIN_TOKEN }), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A tab on /docs that records every request to another origin and every error the page reports. */
async function openDocs(): Promise<{ page: Page; elsewhere: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const elsewhere: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(`${server.origin}/`)) elsewhere.push(request.url());
  });
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  const response = await page.goto(`${server.origin}/docs`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()["x-content-type-options"]).toBe("nosniff");
  expect(response?.headers()["access-control-allow-origin"]).toBe("*");
  expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'");
  await page.waitForSelector(".opblock");
  return { page, elsewhere, errors };
}

describe("the API docs", () => {
  it("render every operation of /openapi.json, with no token and nothing loaded from another host", async () => {
    const doc = await (await fetch(`${server.origin}/openapi.json`)).json();
    // Swagger UI gives each operation the element id `operations-<tag>-<operationId>`.
    const expected = Object.values<Record<string, { tags: string[]; operationId: string }>>(doc.paths).flatMap((item) =>
      Object.values(item).map((op) => `operations-${op.tags[0]}-${op.operationId}`),
    );
    expect(expected).toHaveLength(24);

    const { page, elsewhere, errors } = await openDocs();
    const shown = await page.locator(".opblock").evaluateAll((blocks) => blocks.map((block) => block.id));
    expect(shown.sort()).toEqual(expected.sort());
    expect(await page.textContent(".info .title")).toContain("KeyPool");
    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]); // a CSP violation or a missing file would be reported here
    await page.close();
  });

  it("call the API from the page with the token given to Authorize", async () => {
    // The pool the page asks about exists: an admin made it (a pool nobody made answers 404).
    const made = await fetch(`${server.origin}/pools/docs-e2e/settings`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(made.status).toBe(200);
    const { page, elsewhere, errors } = await openDocs();
    await page.click(".btn.authorize");
    await page.fill(".auth-container input", ADMIN_TOKEN);
    await page.click(".auth-container .btn.modal-btn.auth");
    await page.click(".btn-done");

    const operation = page.locator("#operations-Pools-getPool");
    await operation.locator(".opblock-summary").click();
    await operation.locator(".try-out__btn").click();
    await operation.locator('tr[data-param-name="pool"] input').fill("docs-e2e");
    await operation.locator(".execute").click();
    const answer = operation.locator(".live-responses-table tbody .response");
    await expect.poll(() => answer.locator(".response-col_status").textContent()).toContain("200");
    expect(await answer.locator(".response-col_description").textContent()).toContain('"pool": "docs-e2e"');
    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("let a person try calls in any order, twice over: no shared Idempotency-Key is pre-filled", async () => {
    const { page } = await openDocs();
    await page.click(".btn.authorize");
    await page.fill(".auth-container input", ADMIN_TOKEN);
    await page.click(".auth-container .btn.modal-btn.auth");
    await page.click(".btn-done");

    /** Executes an operation from the page and returns what the page shows of the answer. */
    const execute = async (id: string, firstTime: boolean) => {
      const operation = page.locator(`#operations-Keys-${id}`);
      if (firstTime) {
        await operation.locator(".opblock-summary").click();
        await operation.locator(".try-out__btn").click();
        const header = operation.locator('tr[data-param-name="Idempotency-Key"] input');
        expect(await header.inputValue()).toBe("");
      }
      await operation.locator(".execute").click();
      const answer = operation.locator(".live-responses-table tbody .response");
      await expect.poll(() => answer.locator(".response-col_status").textContent()).toMatch(/\d{3}/);
      const status = (await answer.locator(".response-col_status").textContent())?.trim();
      const body = await answer.locator(".response-col_description pre").first().textContent();
      await operation.locator(".btn-clear").click(); // so the next answer is a new one
      return { status, body: JSON.parse(body ?? "null") };
    };

    const first = await execute("createKeys", true);
    const second = await execute("createKeys", false);
    expect([first.status, second.status]).toEqual(["201", "201"]);
    // The page sends its sample body, {"count": 1}: each call creates a key of its own, no replay.
    const [created, again] = [first.body.keyIds[0], second.body.keyIds[0]];
    expect(again).not.toBe(created);
    const assigned = await execute("assignKey", true);
    expect(assigned.status).toBe("200");
    expect([created, again]).toContain(assigned.body.keyId);
    await page.close();
  });
});
