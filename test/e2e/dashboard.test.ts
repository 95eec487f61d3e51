import { randomUUID } from "node:crypto";
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
const CLIENT_TOKEN = "e2e-client-token-0123456789";
const PORTS: [number, number] = [9520, 9599];

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startDevServer(PORTS, { ADMIN_TOKEN, CLIENT_TOKEN }), launchChromium()]);
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

async function api(
  method: string,
  path: string,
  body?: unknown,
  origin = server.origin,
  token = ADMIN_TOKEN,
): Promise<any> {
  const response = await fetch(origin + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
  return response.json();
}

/** The body of the next request the page sends to `path` with `method`. */
async function nextBody(page: Page, method: string, path: string): Promise<unknown> {
  const request = await page.waitForRequest((r) => r.method() === method && new URL(r.url()).pathname === path);
  return request.postDataJSON();
}

/** The body and the answer's status of the next settings save the page makes for `pool`. */
async function nextSettingsSave(page: Page, pool: string): Promise<{ body: unknown; status: number }> {
  const response = await page.waitForResponse(
    (r) => r.request().method() === "PUT" && new URL(r.url()).pathname === `/pools/${pool}/settings`,
  );
  return { body: response.request().postDataJSON(), status: response.status() };
}

/** The next read of the pool's audit trail the page makes: of one key's history (`keyId`), or of the activity. */
async function nextAuditRead(page: Page, pool: string, keyId?: string): Promise<URLSearchParams> {
  const request = await page.waitForRequest((r) => {
    const url = new URL(r.url());
    return url.pathname === `/pools/${pool}/audit` && url.searchParams.get("keyId") === (keyId ?? null);
  });
  return new URL(request.url()).searchParams;
}

interface AuditRow {
  seq: number;
  event: string;
  /** The key it is about (the id its button opens the history of), in the activity only. */
  keyId?: string | null;
  lease: string;
  actor: string;
  outcome: string;
  detail: string;
}

/** The entries an audit table shows, as the operator reads them. */
function auditRows(page: Page, table: "#activity-entries" | "#history-entries"): Promise<AuditRow[]> {
  return page.locator(`${table} tr`).evaluateAll((rows) =>
    rows.map((row) => {
      const text = (name: string) => row.querySelector(`.${name}`)?.textContent ?? "";
      const key = row.querySelector("td.key");
      return {
        seq: Number((row as HTMLElement).dataset.seq),
        event: text("event"),
        ...(key === null ? {} : { keyId: key.querySelector("button")?.dataset.keyId ?? null }),
        lease: text("lease"),
        actor: text("actor"),
        outcome: text("outcome"),
        detail: text("detail"),
      };
    }),
  );
}

/** Everything of the page a value could hide in: its HTML, its form fields, its storage. */
function pageContents(page: Page): Promise<string> {
  return page.evaluate(() => {
    const fields = [...document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>("input, textarea")];
    const stored = [sessionStorage, localStorage].flatMap((storage) =>
      Object.keys(storage).map((name) => `${name}=${storage.getItem(name)}`),
    );
    return [document.documentElement.outerHTML, ...fields.map((field) => field.value), ...stored, location.href].join(
      "\n",
    );
  });
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

    // Create two more through the page, labelled.
    await page.fill("#create-count", "2");
    await page.fill("#create-label", "made here");
    await page.click("#create-form button[type=submit]");
    await expect.poll(() => page.textContent("#message")).toContain("Created 2 keys");
    await expect.poll(() => page.textContent("#count-total")).toBe("5");
    expect(await page.textContent("#counter-created")).toBe("5");
    await expect.poll(() => page.locator("#keys .label-text", { hasText: "made here" }).count()).toBe(2);
    expect(new Set(await page.locator("#keys .source").allTextContents())).toEqual(new Set(["generated"]));
    expect(new Set(await page.locator("#keys .hint").allTextContents())).toEqual(new Set(["—"]));

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

  it("picks a pool from the directory (GET /pools), and still opens and makes a pool from a typed name", async () => {
    const prefix = `e2e-pick-${Date.now()}`;
    const [first, second, typed] = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    await api("POST", `/pools/${first}/keys`, { count: 2 });
    const { keyIds } = await api("POST", `/pools/${second}/keys`, { count: 3 });
    await api("PUT", `/pools/${second}/keys/${keyIds[0]}`, { disabled: true });
    const page = await openDashboard(first);
    const listing = page.waitForRequest((r) => new URL(r.url()).pathname === "/pools");
    await signIn(page, ADMIN_TOKEN);
    expect(new URL((await listing).url()).searchParams.get("limit")).toBe("100");

    // Each pool is listed with its keys; the one open is the one picked.
    const option = (pool: string) => page.locator(`#pool-picker option[value="${pool}"]`);
    await expect.poll(() => option(second).textContent()).toBe(`${second} — 3 keys, 2 free`);
    expect(await option(first).textContent()).toBe(`${first} — 2 keys, 2 free`);
    expect(await page.inputValue("#pool-picker")).toBe(first);
    await expect.poll(() => page.textContent("#count-total")).toBe("2");

    // Picking another opens it.
    await page.selectOption("#pool-picker", second);
    await expect.poll(() => page.textContent("#count-disabled")).toBe("1");
    expect(await page.textContent("#count-total")).toBe("3");
    expect(await page.inputValue("#pool")).toBe(second);
    expect(new URL(page.url()).hash).toBe(`#pool=${second}`);

    // A name typed in opens a pool nobody made yet; creating keys makes it, and the picker lists it.
    await page.fill("#pool", typed);
    await page.click("#pool-form button[type=submit]");
    await expect.poll(() => page.textContent("#message")).toContain("No such pool");
    expect(await page.inputValue("#pool-picker")).toBe(typed);
    expect(await option(typed).textContent()).toBe(`${typed} — not listed`);
    await page.fill("#create-count", "4");
    await page.click("#create-form button[type=submit]");
    await expect.poll(() => option(typed).textContent()).toBe(`${typed} — 4 keys, 4 free`);
    expect(await page.inputValue("#pool-picker")).toBe(typed);
    expect((await api("GET", "/pools?limit=100")).pools.map((entry: { pool: string }) => entry.pool)).toContain(typed);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard-picker.png" });
    await page.close();
  });

  it("loads the directory a page at a time: More pools lists the next page", async () => {
    const prefix = `e2e-many-${Date.now()}`;
    const names = Array.from({ length: 101 }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(names.slice(i, i + 10).map((pool) => api("PUT", `/pools/${pool}/settings`, {})));
    }
    const page = await openDashboard(names[0] as string);
    await signIn(page, ADMIN_TOKEN);
    const options = page.locator("#pool-picker option");
    await expect.poll(() => options.count()).toBe(100);
    expect(await page.isVisible("#more-pools")).toBe(true);
    const pages = page.waitForRequest((r) => new URL(r.url()).searchParams.has("cursor"));
    await page.click("#more-pools");
    await pages;
    await expect.poll(() => options.count()).toBeGreaterThan(100);
    const shown = await options.evaluateAll((all) => all.map((o) => (o as HTMLOptionElement).value));
    expect(shown).toEqual(expect.arrayContaining(names));
    expect(shown).toEqual([...new Set(shown)].sort());
    await page.close();
  });

  it("edits the pool's settings, and shows the API's error for a bad value", async () => {
    const pool = `e2e-settings-${Date.now()}`;
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);
    // Nobody made this pool yet: the page says so; setting its settings makes it.
    await expect.poll(() => page.textContent("#message")).toContain("No such pool");
    await page.fill("#key-ttl", "120");
    // Fields left empty, and a keysExpire left untouched, are not sent.
    const sent = nextBody(page, "PUT", `/pools/${pool}/settings`);
    await page.click("#settings-form button[type=submit]");
    expect(await sent).toEqual({ keyTtlSeconds: 120 });
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

  it("switches a pool's keys to never expire, and shows no countdown for them", async () => {
    const pool = `e2e-expire-${Date.now()}`;
    await api("POST", `/pools/${pool}/keys`, { count: 2 });
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);
    const expiries = page.locator("#keys .expires");
    const countingDown = [expect.stringMatching(/^[45]:\d\d$/), expect.stringMatching(/^[45]:\d\d$/)];
    await expect.poll(() => expiries.allTextContents()).toEqual(countingDown);
    expect(await page.inputValue("#keys-expire")).toBe("true");

    // Saved untouched, keysExpire is not sent; chosen, it is.
    let sent = nextBody(page, "PUT", `/pools/${pool}/settings`);
    await page.click("#settings-form button[type=submit]");
    expect(await sent).toEqual({ keyTtlSeconds: 300, blockTtlSeconds: 60 });
    await expect.poll(() => page.textContent("#message")).toContain("Settings saved");
    await page.selectOption("#keys-expire", "false");
    sent = nextBody(page, "PUT", `/pools/${pool}/settings`);
    await page.click("#settings-form button[type=submit]");
    expect(await sent).toEqual({ keyTtlSeconds: 300, blockTtlSeconds: 60, keysExpire: false });
    await expect.poll(() => page.textContent("#message")).toContain("keys never expire");
    await expect.poll(() => expiries.allTextContents()).toEqual(["never", "never"]);
    expect((await api("GET", `/pools/${pool}`)).settings.keysExpire).toBe(false);

    // Keeping a key alive says it does not expire; switched back, the countdowns return.
    await page.locator('#keys [data-action="alive"]').first().click();
    await expect.poll(() => page.textContent("#message")).toContain("do not expire");
    await page.selectOption("#keys-expire", "true");
    await page.click("#settings-form button[type=submit]");
    await expect.poll(() => expiries.allTextContents()).toEqual(countingDown);
    await page.close();
  });

  it("shows each key's state: disables and enables a key, counts a cooldown down, filters by state", async () => {
    const pool = `e2e-health-${Date.now()}`;
    const { keyIds } = await api("POST", `/pools/${pool}/keys`, { count: 3 });
    const [disabledId, coolingId, failingId] = keyIds as [string, string, string];
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);
    await expect.poll(() => page.locator("#keys .badge").allTextContents()).toEqual(["free", "free", "free"]);
    for (const id of ["#count-cooling", "#count-disabled", "#waiting", "#counter-cooled", "#counter-reportedError"]) {
      expect(await page.textContent(id)).toBe("0");
    }
    const row = (keyId: string) => page.locator(`#keys tr[data-key-id="${keyId}"]`);
    const keyIdsShown = async () =>
      (await page.locator("#keys tr").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.keyId))).sort();

    // Disable a key: it shows as disabled, offers Enable instead of Block, and the counts follow.
    const disabled = row(disabledId);
    const disabling = nextBody(page, "PUT", `/pools/${pool}/keys/${disabledId}`);
    await disabled.locator('[data-action="disable"]').click();
    expect(await disabling).toEqual({ disabled: true });
    await expect.poll(() => disabled.locator(".badge").textContent()).toBe("disabled");
    expect(await page.textContent("#message")).toContain("Disabled key");
    await expect.poll(() => page.textContent("#count-disabled")).toBe("1");
    expect(await page.textContent("#count-free")).toBe("2");
    expect(await page.textContent("#counter-disabled")).toBe("1");
    expect(await disabled.locator('[data-action="toggle"]').isVisible()).toBe(false);
    expect(await disabled.locator('[data-action="disable"]').textContent()).toBe("Enable");
    expect((await api("GET", `/pools/${pool}/keys/${disabledId}/info`)).state).toBe("disabled");

    // Listed by state: the disabled key alone; enabled from there, it leaves that list and is free again.
    await page.selectOption("#state", "disabled");
    await expect.poll(keyIdsShown).toEqual([disabledId]);
    await disabled.locator('[data-action="disable"]').click();
    await expect.poll(() => page.locator("#keys tr").count()).toBe(0);
    expect(await page.isVisible("#empty")).toBe(true);
    expect(await page.textContent("#message")).toContain("Enabled key");
    expect(await page.textContent("#count-disabled")).toBe("0");
    expect((await api("GET", `/pools/${pool}/keys/${disabledId}/info`)).state).toBe("free");

    // A 429 reported through the API cools a key down for 10 minutes (long enough that a slow machine cannot
    // see it end before the checks below): listed as cooling, counted down live.
    const reported = await api("POST", `/pools/${pool}/keys/${coolingId}/report`, {
      outcome: "rate_limited",
      retryAfterSeconds: 600,
    });
    expect(reported.state).toBe("cooling");
    await page.selectOption("#state", "cooling");
    await expect.poll(keyIdsShown).toEqual([coolingId]);
    const cooling = row(coolingId);
    expect(await cooling.locator(".badge").textContent()).toBe("cooling");
    expect(await cooling.locator(".outcome").textContent()).toBe("rate limited");
    const left = await cooling.locator(".cools").textContent();
    expect(left).toMatch(/^(9:[0-5]\d|10:00)$/);
    await expect.poll(() => cooling.locator(".cools").textContent(), { timeout: 5_000 }).not.toBe(left);
    expect(await page.textContent("#count-cooling")).toBe("1");
    expect(await page.textContent("#counter-cooled")).toBe("1");
    expect(await page.textContent("#counter-reportedRateLimited")).toBe("1");
    await page.selectOption("#state", "free");
    await expect.poll(keyIdsShown).toEqual([disabledId, failingId].sort());

    // An error report counts a failure, shown with the last outcome; the key stays free.
    await page.selectOption("#state", "all");
    await api("POST", `/pools/${pool}/keys/${failingId}/report`, { outcome: "error" });
    const failing = row(failingId);
    await expect.poll(() => failing.locator(".failures").textContent()).toBe("1 failure");
    expect(await failing.locator(".outcome").textContent()).toBe("error");
    expect(await failing.locator(".badge").textContent()).toBe("free");
    expect(await page.textContent("#counter-reportedError")).toBe("1");
    expect(await row(coolingId).locator(".badge").textContent()).toBe("cooling");
    expect(await failing.locator(".cools").textContent()).toBe("");
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard-health.png", fullPage: true });

    // A short cooldown ends on its own: the countdown runs out and the key is free again.
    await api("POST", `/pools/${pool}/keys/${failingId}/report`, { outcome: "rate_limited", retryAfterSeconds: 4 });
    await expect.poll(() => failing.locator(".badge").textContent()).toBe("cooling");
    expect(await failing.locator(".cools").textContent()).toMatch(/^0:0[0-4]$|^due$/);
    await expect.poll(() => failing.locator(".badge").textContent()).toBe("free");
    expect(await failing.locator(".cools").textContent()).toBe("");
    await page.close();
  });

  it("edits the cooldown, max failures and lock delay within their bounds, and resets them", async () => {
    const pool = `e2e-report-settings-${Date.now()}`;
    await api("POST", `/pools/${pool}/keys`, { count: 1 });
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);
    await expect.poll(() => page.inputValue("#cooldown")).toBe("60");
    expect(await page.inputValue("#max-failures")).toBe("3");
    expect(await page.inputValue("#lock-delay")).toBe("0");
    for (const [id, min, max] of [
      ["#cooldown", "0", "86400"],
      ["#max-failures", "1", "100"],
      ["#lock-delay", "0", "60"],
      ["#audit-retention", "0", "400"],
    ] as const) {
      expect([await page.getAttribute(id, "min"), await page.getAttribute(id, "max")]).toEqual([min, max]);
    }

    await page.fill("#cooldown", "90");
    await page.fill("#max-failures", "5");
    await page.fill("#lock-delay", "2.5");
    let save = nextSettingsSave(page, pool);
    await page.click("#settings-form button[type=submit]");
    expect(await save).toEqual({
      body: { keyTtlSeconds: 300, blockTtlSeconds: 60, cooldownSeconds: 90, maxFailures: 5, lockDelaySeconds: 2.5 },
      status: 200,
    });
    await expect.poll(() => page.textContent("#message")).toContain("cooldown 90 s, max failures 5, lock delay 2.5 s");
    const saved = { cooldownSeconds: 90, maxFailures: 5, lockDelaySeconds: 2.5 };
    expect((await api("GET", `/pools/${pool}`)).settings).toMatchObject(saved);

    // Saved again untouched, they are not sent: a TTL change does not pin them.
    save = nextSettingsSave(page, pool);
    await page.click("#settings-form button[type=submit]");
    expect(await save).toEqual({ body: { keyTtlSeconds: 300, blockTtlSeconds: 60 }, status: 200 });

    // A value out of bounds is refused by the API, and the page says which.
    const alert = page.locator("#message[role=alert]");
    for (const [id, bad, good, field] of [
      ["#cooldown", "86401", "90", "cooldownSeconds"],
      ["#max-failures", "1.5", "5", "maxFailures"],
      ["#max-failures", "0", "5", "maxFailures"],
      ["#lock-delay", "61", "2.5", "lockDelaySeconds"],
    ] as const) {
      await page.fill(id, bad);
      save = nextSettingsSave(page, pool);
      await page.click("#settings-form button[type=submit]");
      expect(await save).toEqual({
        body: { keyTtlSeconds: 300, blockTtlSeconds: 60, [field]: Number(bad) },
        status: 400,
      });
      await expect.poll(() => alert.textContent()).toMatch(new RegExp(`${field}.*\\(400\\)`));
      await page.fill(id, good);
    }
    expect((await api("GET", `/pools/${pool}`)).settings).toMatchObject(saved);

    // Reset puts them (and the TTLs, and the audit trail's days) back to the defaults.
    save = nextSettingsSave(page, pool);
    await page.click("#reset-settings");
    const defaults = { keyTtlSeconds: null, blockTtlSeconds: null, cooldownSeconds: null, maxFailures: null };
    expect(await save).toEqual({
      body: { ...defaults, lockDelaySeconds: null, auditRetentionDays: null },
      status: 200,
    });
    await expect.poll(() => page.textContent("#message")).toContain("cooldown 60 s, max failures 3, lock delay 0 s");
    await expect.poll(() => page.inputValue("#lock-delay")).toBe("0");
    expect(await page.inputValue("#cooldown")).toBe("60");
    expect(await page.inputValue("#max-failures")).toBe("3");
    await page.close();
  });

  it("shows a key's history: who assigned and unblocked it, with the lease, never a token or value", async () => {
    const pool = `e2e-history-${Date.now()}`;
    const { keyIds } = await api("POST", `/pools/${pool}/keys`, { count: 3 });
    const assigned = await api("GET", `/pools/${pool}/keys`, undefined, server.origin, CLIENT_TOKEN);
    await api("PUT", `/pools/${pool}/keys/${assigned.keyId}`, { blocked: false });
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);
    const row = page.locator(`#keys tr[data-key-id="${assigned.keyId}"]`);
    await expect.poll(() => row.count()).toBe(1);

    const read = nextAuditRead(page, pool, assigned.keyId);
    await row.locator('[data-action="history"]').click();
    expect((await read).get("limit")).toBe("50");
    await expect.poll(() => page.isVisible("#history")).toBe(true);
    expect(await page.textContent("#history-key")).toBe(assigned.keyId);
    await expect
      .poll(async () => (await auditRows(page, "#history-entries")).map((entry) => entry.event))
      .toEqual(["unblocked", "assigned", "created"]);
    const [unblocked, assignment, created] = await auditRows(page, "#history-entries");
    const fingerprint = /^(admin|client) ([0-9a-f]{12})$/;
    const admin = unblocked?.actor.match(fingerprint);
    const client = assignment?.actor.match(fingerprint);
    expect(admin?.[1]).toBe("admin");
    expect(client?.[1]).toBe("client");
    expect(client?.[2]).not.toBe(admin?.[2]);
    expect(created?.actor).toBe(unblocked?.actor);
    expect([unblocked?.lease, assignment?.lease, created?.lease]).toEqual([
      String(assigned.lease),
      String(assigned.lease),
      "—",
    ]);
    expect(assignment?.detail).toMatch(/^release at \d/);
    expect([unblocked?.detail, created?.detail, assignment?.outcome]).toEqual(["—", "—", "—"]);
    expect(await page.isDisabled("#history-older")).toBe(true);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard-history.png" });
    // Neither token, nor the value or the holder's secret the assignment answered, shows on the page (the
    // admin token is in the tab's sessionStorage, as it was before).
    const html = await page.content();
    const contents = await pageContents(page);
    for (const secret of [ADMIN_TOKEN, CLIENT_TOKEN, assigned.key, assigned.leaseToken]) {
      expect(html).not.toContain(secret);
      if (secret !== ADMIN_TOKEN) expect(contents).not.toContain(secret);
    }

    // Closed, the panel is gone and the poll reads the pool's activity only.
    const reads: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === `/pools/${pool}/audit`) reads.push(r.url());
    });
    await page.click("#history-close");
    expect(await page.isVisible("#history")).toBe(false);
    await expect.poll(() => reads.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(reads.filter((url) => new URL(url).searchParams.has("keyId"))).toEqual([]);
    // Another key's history opens as fresh; Escape closes it too.
    const other = keyIds.find((id: string) => id !== assigned.keyId);
    await page.locator(`#keys tr[data-key-id="${other}"] [data-action="history"]`).click();
    await expect
      .poll(async () => (await auditRows(page, "#history-entries")).map((entry) => entry.event))
      .toEqual(["created"]);
    expect(await page.textContent("#history-key")).toBe(other);
    await page.keyboard.press("Escape");
    await expect.poll(() => page.isVisible("#history")).toBe(false);
    await page.close();
  });

  it("lists the pool's recent activity as it happens, and pages Older through it and through a key's history", async () => {
    const pool = `e2e-activity-${Date.now()}`;
    const { keyIds } = await api("POST", `/pools/${pool}/keys`, { count: 3 });
    const page = await openDashboard(pool);
    const read = nextAuditRead(page, pool);
    await signIn(page, ADMIN_TOKEN);
    expect(Object.fromEntries(await read)).toEqual({ limit: "20" });
    const events = async () => (await auditRows(page, "#activity-entries")).map((entry) => entry.event);
    await expect.poll(events).toEqual(["created", "created", "created", "pool created"]);
    const shown = await auditRows(page, "#activity-entries");
    expect(new Set(shown.slice(0, 3).map((entry) => entry.keyId))).toEqual(new Set(keyIds));
    expect(shown[3]?.keyId).toBeNull();
    expect(shown.map((entry) => entry.seq)).toEqual([4, 3, 2, 1]);
    for (const entry of shown) expect(entry.actor).toMatch(/^admin [0-9a-f]{12}$/);
    expect(await page.textContent("#activity-retention")).toBe("Entries are kept 30 days.");
    expect(await page.isDisabled("#activity-older")).toBe(true);

    // A change made elsewhere shows on the next poll.
    const [busy] = keyIds as [string];
    await api("PUT", `/pools/${pool}/keys/${busy}`, { disabled: true });
    await expect.poll(async () => (await events())[0]).toBe("disabled");
    await api("PUT", `/pools/${pool}/keys/${busy}`, { disabled: false });
    // 30 blocks and unblocks: 60 more entries of one key, 65 in the pool.
    for (let i = 0; i < 30; i++) {
      await api("PUT", `/pools/${pool}/keys/${busy}`, { blocked: true });
      await api("PUT", `/pools/${pool}/keys/${busy}`, { blocked: false });
    }
    await expect.poll(async () => (await auditRows(page, "#activity-entries"))[0]?.seq).toBe(66);

    // Older pages back to the pool's first entry, 20 at a time, each entry once.
    const seen: number[] = [];
    for (const [number, count] of [
      [2, 20],
      [3, 20],
      [4, 6],
    ] as const) {
      seen.push(...(await auditRows(page, "#activity-entries")).map((entry) => entry.seq));
      const older = nextAuditRead(page, pool);
      await page.click("#activity-older");
      expect((await older).get("after")).toMatch(/^[A-Za-z0-9_-]+$/);
      await expect.poll(() => page.textContent("#activity-page")).toBe(`page ${number}`);
      expect((await auditRows(page, "#activity-entries")).length).toBe(count);
    }
    seen.push(...(await auditRows(page, "#activity-entries")).map((entry) => entry.seq));
    expect(seen).toEqual(Array.from({ length: 66 }, (_, i) => 66 - i));
    expect((await events()).at(-1)).toBe("pool created");
    expect(await page.isDisabled("#activity-older")).toBe(true);
    // An older page stays as it is while the pool changes; Newest shows the change.
    await api("PUT", `/pools/${pool}/keys/${busy}`, { blocked: true });
    await page.click("#activity-newer");
    await expect.poll(() => page.textContent("#activity-page")).toBe("page 3");
    expect((await auditRows(page, "#activity-entries"))[0]?.seq).toBe(26);
    await page.click("#activity-newest");
    await expect.poll(async () => (await auditRows(page, "#activity-entries"))[0]?.event).toBe("blocked");
    expect(await page.textContent("#activity-page")).toBe("page 1");
    expect(await page.isDisabled("#activity-newer")).toBe(true);

    // A key in the activity opens its history: 64 entries, 50 a page.
    const history = nextAuditRead(page, pool, busy);
    await page.locator(`#activity-entries button[data-key-id="${busy}"]`).first().click();
    expect((await history).get("limit")).toBe("50");
    await expect.poll(async () => (await auditRows(page, "#history-entries")).length).toBe(50);
    const first = await auditRows(page, "#history-entries");
    expect(first.slice(0, 3).map((entry) => [entry.event, entry.actor.split(" ")[0]])).toEqual([
      ["blocked", "admin"],
      ["unblocked", "admin"],
      ["blocked", "admin"],
    ]);
    expect(first[0]?.detail).toMatch(/^release at \d/);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard-activity.png" });
    const older = nextAuditRead(page, pool, busy);
    await page.click("#history-older");
    expect((await older).get("after")).toMatch(/^[A-Za-z0-9_-]+$/);
    await expect.poll(() => page.textContent("#history-page")).toBe("page 2");
    const last = await auditRows(page, "#history-entries");
    expect(last.length).toBe(14);
    expect(last.slice(-3).map((entry) => entry.event)).toEqual(["enabled", "disabled", "created"]);
    expect(new Set([...first, ...last].map((entry) => entry.seq)).size).toBe(64);
    expect(await page.isDisabled("#history-older")).toBe(true);
    await page.click("#history-newest");
    await expect.poll(() => page.textContent("#history-page")).toBe("page 1");
    await expect.poll(async () => (await auditRows(page, "#history-entries"))[0]?.seq).toBe(first[0]?.seq);
    await page.click("#history-close");
    await page.close();
  });

  it("keeps the audit trail for the days set in the form, and shows the API's error for a bad value", async () => {
    const pool = `e2e-retention-${Date.now()}`;
    await api("POST", `/pools/${pool}/keys`, { count: 1 });
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);
    await expect.poll(() => page.inputValue("#audit-retention")).toBe("30");

    await page.fill("#audit-retention", "7");
    let save = nextSettingsSave(page, pool);
    await page.click("#settings-form button[type=submit]");
    expect(await save).toEqual({
      body: { keyTtlSeconds: 300, blockTtlSeconds: 60, auditRetentionDays: 7 },
      status: 200,
    });
    await expect.poll(() => page.textContent("#message")).toContain("audit trail kept 7 days");
    expect((await api("GET", `/pools/${pool}`)).settings.auditRetentionDays).toBe(7);
    // The change is in the trail itself, with the settings it made.
    await expect.poll(async () => (await auditRows(page, "#activity-entries"))[0]?.event).toBe("settings changed");
    expect((await auditRows(page, "#activity-entries"))[0]?.detail).toContain("auditRetentionDays 7");
    await expect.poll(() => page.textContent("#activity-retention")).toBe("Entries are kept 7 days.");

    // Out of bounds, or not whole days: refused by the API, which the page quotes.
    const alert = page.locator("#message[role=alert]");
    for (const bad of ["401", "1.5", "-1"]) {
      await page.fill("#audit-retention", bad);
      save = nextSettingsSave(page, pool);
      await page.click("#settings-form button[type=submit]");
      expect(await save).toEqual({
        body: { keyTtlSeconds: 300, blockTtlSeconds: 60, auditRetentionDays: Number(bad) },
        status: 400,
      });
      await expect.poll(() => alert.textContent()).toMatch(/body\.auditRetentionDays: .+\(400\)/);
    }
    expect(await alert.textContent()).toContain("auditRetentionDays: Too small");
    expect((await api("GET", `/pools/${pool}`)).settings.auditRetentionDays).toBe(7);

    // 0: the pool keeps no trail, and the page says so.
    await page.fill("#audit-retention", "0");
    await page.click("#settings-form button[type=submit]");
    await expect.poll(() => page.textContent("#message")).toContain("no audit trail");
    await expect.poll(() => page.textContent("#activity-retention")).toBe("This pool keeps no audit trail.");
    expect((await api("GET", `/pools/${pool}`)).settings.auditRetentionDays).toBe(0);
    await page.close();
  });

  it("says imports need an encryption key on a server without one, and shows the 503", async () => {
    const pool = `e2e-nokey-${Date.now()}`;
    await api("POST", `/pools/${pool}/keys`, { count: 1 });
    const page = await openDashboard(pool);
    await signIn(page, ADMIN_TOKEN);
    await expect.poll(() => page.textContent("#encryption")).toContain("No encryption key (KEY_ENCRYPTION_KEY)");
    expect(await page.textContent("#encryption")).toContain("1 value stored unencrypted");
    expect(await page.isVisible("#encryption-local")).toBe(false);

    const value = `sk-e2e-${randomUUID()}`;
    await page.fill("#import-values", value);
    await page.click("#import-form button[type=submit]");
    const alert = page.locator("#message[role=alert]");
    await expect.poll(() => alert.textContent()).toMatch(/needs an encryption key.*\(503\)/);
    expect(await page.textContent("#count-total")).toBe("1");
    // The refused value stays in the form, to be sent again, and nowhere else.
    expect(await page.inputValue("#import-values")).toBe(value);
    await page.fill("#import-values", "");
    expect(await pageContents(page)).not.toContain(value);
    await page.close();
  });

  it("asks for the admin token, and shows no local-mode banner, on a server with tokens", async () => {
    const page = await openDashboard(`e2e-ask-${Date.now()}`);
    await expect.poll(() => page.textContent("#message")).toContain("needs an admin token");
    expect(await page.isVisible("#token-form")).toBe(true);
    expect(await page.isVisible("#local-mode")).toBe(false);
    await page.close();
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

  describe("in the local mode (npm start)", () => {
    let local: DevServer;
    /** The local mode serves loopback host names only: the page is opened as localhost. */
    let origin: string;

    beforeAll(async () => {
      local = await startDevServer(PORTS, { LOCAL_DEV_NO_AUTH: "true" });
      origin = local.origin.replace("127.0.0.1", "localhost");
    });

    afterAll(async () => {
      await local?.stop();
    });

    it("says no token is needed and shows the pool without one", async () => {
      const pool = `e2e-local-${Date.now()}`;
      await fetch(`${origin}/pools/${pool}/keys`, { method: "POST" });
      const page = await browser.newPage();
      await page.goto(`${origin}/dashboard#pool=${pool}`);
      await expect.poll(() => page.isVisible("#local-mode")).toBe(true);
      expect(await page.textContent("#local-mode")).toContain("Local mode: no token needed.");
      expect(await page.isVisible("#token-form")).toBe(false);
      await expect.poll(() => page.textContent("#count-total")).toBe("1");
      await page.screenshot({ path: "test-results/dashboard-local.png" });
      await page.close();
    });

    it("imports values through the form, lists them by label and hint, and never shows a value", async () => {
      const pool = `e2e-import-${Date.now()}`;
      const long = [`sk-e2e-${randomUUID()}`, `sk-e2e-${randomUUID()}`];
      const short = `s-${randomUUID().slice(0, 6)}`; // too short for a hint
      const values = [...long, short];
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${origin}/dashboard#pool=${pool}`);
      await expect.poll(() => page.textContent("#message")).toContain("No such pool");

      // Blank lines and spaces around a value are dropped; the label goes to every value.
      await page.fill("#import-values", `${long[0]}\n\n  ${long[1]}  \r\n${short}\n`);
      await page.fill("#import-label", "e2e batch");
      const sent = nextBody(page, "POST", `/pools/${pool}/keys`);
      await page.click("#import-form button[type=submit]");
      expect(await sent).toEqual({ keys: values.map((key) => ({ key, label: "e2e batch" })) });
      await expect.poll(() => page.textContent("#message")).toContain('Imported 3 keys labelled "e2e batch"');
      expect(await page.inputValue("#import-values")).toBe("");
      await expect.poll(() => page.locator("#keys tr").count()).toBe(3);
      const rows = page.locator("#keys tr");
      expect(await rows.locator(".source").allTextContents()).toEqual(["imported", "imported", "imported"]);
      expect(await rows.locator(".label-text").allTextContents()).toEqual(["e2e batch", "e2e batch", "e2e batch"]);
      expect((await rows.locator(".hint").allTextContents()).sort()).toEqual(
        [...long.map((value) => `…${value.slice(-4)}`), "—"].sort(),
      );
      const imported = await pageContents(page);
      for (const value of values) expect(imported).not.toContain(value);

      // The pool's values are sealed under the published development key, and the page says what that means.
      const { encryption } = await api("GET", `/pools/${pool}`, undefined, origin);
      expect(encryption.localDevelopmentKey).toBe(true);
      await expect.poll(() => page.isVisible("#encryption-local")).toBe(true);
      expect(await page.textContent("#encryption-local")).toContain("values here are protected by nothing");
      expect(await page.textContent("#encryption-sealing")).toContain(encryption.sealingKey);
      expect(await page.textContent("#encryption-values")).toContain(`3 values sealed under ${encryption.sealingKey}`);

      // A value already in the pool, and one given twice, are refused by line; the message names keys, not values.
      const listing = await api("GET", `/pools/${pool}/list`, undefined, origin);
      const holder = listing.keys.find((key: { hint: string | null }) => key.hint === long[1]?.slice(-4));
      const fresh = `sk-e2e-${randomUUID()}`;
      await page.fill("#import-values", `${fresh}\n${long[1]}\n${fresh}`);
      await page.fill("#import-label", "");
      await page.click("#import-form button[type=submit]");
      const alert = page.locator("#message[role=alert]");
      await expect.poll(() => alert.textContent()).toContain("Nothing was imported");
      expect(await alert.locator("li").allTextContents()).toEqual([
        `line 2: This value is in the pool already (key ${holder.keyId})`,
        "line 3: The same value as line 1",
      ]);
      expect(await page.textContent("#count-total")).toBe("3");
      // The refused values stay in the form's field (not in its HTML) to be fixed, and nowhere else.
      const refused = await page.content();
      for (const value of [...values, fresh]) expect(refused).not.toContain(value);

      // Relabel a key from the table, then remove its label.
      const row = page.locator(`#keys tr[data-key-id="${holder.keyId}"]`);
      await row.locator('[data-action="label"]').click();
      await row.locator(".label-input").fill("rotated");
      await row.locator(".label-form button[type=submit]").click();
      await expect.poll(() => row.locator(".label-text").textContent()).toBe("rotated");
      expect((await api("GET", `/pools/${pool}/keys/${holder.keyId}/info`, undefined, origin)).label).toBe("rotated");
      await row.locator('[data-action="label"]').click();
      await row.locator(".label-input").fill("");
      await row.locator(".label-input").press("Enter");
      await expect.poll(() => row.locator(".label-text").textContent()).toBe("—");
      expect(await page.textContent("#message")).toContain("Removed the label");

      mkdirSync("test-results", { recursive: true });
      await page.screenshot({ path: "test-results/dashboard-import.png", fullPage: true });
      await page.fill("#import-values", "");
      const contents = await pageContents(page);
      for (const value of [...values, fresh]) expect(contents).not.toContain(value);
      await page.close();
    });
  });
});
