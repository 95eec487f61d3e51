import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildRouter } from "../../src/http/router";
import { FakeClock } from "../support/clock";
import { ADMIN_TOKEN, uniquePool } from "../support/http";

const router = buildRouter();

/** vitest.config.ts: a real (miniflare) rate limiter allowing 3 requests per 60 s window. */
const TIGHT = (env as unknown as { TIGHT_RATE_LIMITER: RateLimit }).TIGHT_RATE_LIMITER;
const LIMIT = 3;
const PERIOD_MS = 60_000;

function randomToken(): string {
  return `client-${crypto.randomUUID()}`;
}

function randomAddress(): string {
  const [a, b] = crypto.getRandomValues(new Uint16Array(2));
  return `2001:db8::${a?.toString(16)}:${b?.toString(16)}`;
}

interface Caller {
  token?: string;
  address?: string;
}

/** Sends a request to the Worker with `limiter` as its RATE_LIMITER and `clients` as CLIENT_TOKEN. */
async function send(
  limiter: RateLimit,
  clients: string[],
  { token, address }: Caller,
  path = "/keys",
  vars: Record<string, string> = {},
) {
  const headers = new Headers();
  if (token !== undefined) headers.set("Authorization", `Bearer ${token}`);
  if (address !== undefined) headers.set("CF-Connecting-IP", address);
  const testEnv = { ...env, CLIENT_TOKEN: clients.join(","), RATE_LIMITER: limiter, ...vars } as Env;
  const url = `http://keypool.test/pools/${uniquePool()}${path}`;
  const response: Response = await router.fetch(new Request(url, { headers }), testEnv, createExecutionContext());
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/**
 * Miniflare counts in fixed windows aligned to the wall clock; a burst of a few requests that starts
 * within 3 s of a window's end waits for the next window, so it is never split in two.
 */
async function awayFromWindowEdge(): Promise<void> {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS);
  if (left < 3_000) await scheduler.wait(left + 100);
}

describe("rate limiting with the Workers Rate Limiting binding", () => {
  it("answers a client over the limit 429 with Retry-After, per token", async () => {
    const [first, second] = [randomToken(), randomToken()];
    await awayFromWindowEdge();
    for (let i = 0; i < LIMIT; i++) expect((await send(TIGHT, [first, second], { token: first })).status).toBe(404);

    const limited = await send(TIGHT, [first, second], { token: first });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect(limited.body).toEqual({ error: "Too many requests: retry after 60 seconds" });
    expect(limited.headers.get("Access-Control-Expose-Headers")).toContain("Retry-After");
    expect(limited.headers.get("Access-Control-Allow-Origin")).toBe("*");

    expect((await send(TIGHT, [first, second], { token: second })).status, "another token").toBe(404);
  });

  it("limits callers without a valid token per address, before telling them the token is wrong", async () => {
    const [here, there] = [randomAddress(), randomAddress()];
    const client = randomToken();
    await awayFromWindowEdge();
    for (let i = 0; i < LIMIT; i++) {
      expect((await send(TIGHT, [client], { token: randomToken(), address: here })).status).toBe(401);
    }
    expect((await send(TIGHT, [client], { token: randomToken(), address: here })).status).toBe(429);
    expect((await send(TIGHT, [client], { address: here })).status, "no token either").toBe(429);
    expect((await send(TIGHT, [client], { address: there })).status, "another address").toBe(401);
    expect((await send(TIGHT, [client], { token: client, address: here })).status, "a client token").toBe(404);
  });

  it("never limits admin tokens", async () => {
    await awayFromWindowEdge();
    for (let i = 0; i < 3 * LIMIT; i++) {
      expect((await send(TIGHT, [], { token: ADMIN_TOKEN, address: "198.51.100.7" })).status).toBe(404);
    }
  });

  it("counts a client by a hash of its token, never the token itself", async () => {
    const keys: string[] = [];
    const recording: RateLimit = {
      limit: async (options) => {
        keys.push(options.key);
        return { success: true };
      },
    };
    const [first, second] = [randomToken(), randomToken()];
    await send(recording, [first, second], { token: first, address: "198.51.100.1" });
    await send(recording, [first, second], { token: first, address: "198.51.100.2" });
    await send(recording, [first, second], { token: second, address: "198.51.100.1" });
    await send(recording, [first, second], { token: randomToken(), address: "198.51.100.1" });
    const [a, b, c, d] = keys;
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(d).toBe("address:198.51.100.1");
    for (const key of keys) expect(key).not.toMatch(/client-/);
  });
});

describe("the IETF RateLimit header fields", () => {
  const always: RateLimit = { limit: async () => ({ success: true }) };
  const never: RateLimit = { limit: async () => ({ success: false }) };

  it("announce a client's quota and window on every answer to it", async () => {
    const token = randomToken();
    const answer = await send(always, [token], { token });
    expect(answer.status).toBe(404);
    expect(answer.headers.get("RateLimit-Policy")).toBe('"client";q=300;w=60');
    // While requests are allowed the binding does not say how many remain: no guess is sent.
    expect(answer.headers.get("RateLimit")).toBeNull();
    expect(answer.headers.get("Access-Control-Expose-Headers")).toContain("RateLimit-Policy");
  });

  it("announce the per-address quota to callers without a valid token, and none to admins", async () => {
    const unknown = await send(always, [], { token: randomToken(), address: randomAddress() });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get("RateLimit-Policy")).toBe('"address";q=300;w=60');
    const admin = await send(always, [], { token: ADMIN_TOKEN });
    expect(admin.headers.get("RateLimit-Policy")).toBeNull();
  });

  it("say on a 429 that nothing remains and when the window resets at the latest", async () => {
    const token = randomToken();
    const limited = await send(never, [token], { token });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("RateLimit")).toBe('"client";r=0;t=60');
    expect(limited.headers.get("RateLimit-Policy")).toBe('"client";q=300;w=60');
    expect(limited.headers.get("Access-Control-Expose-Headers")).toContain("RateLimit");
  });

  it("follow the configured limit and period", async () => {
    const token = randomToken();
    const vars = { RATE_LIMIT_REQUESTS: "50", RATE_LIMIT_PERIOD_SECONDS: "10" };
    const limited = await send(never, [token], { token }, "/keys", vars);
    expect(limited.headers.get("RateLimit-Policy")).toBe('"client";q=50;w=10');
    expect(limited.headers.get("RateLimit")).toBe('"client";r=0;t=10');
    expect(limited.headers.get("Retry-After")).toBe("10");
  });
});

/** The binding's fixed windows, on a clock the test moves. */
function fixedWindowLimiter(limit: number, clock: FakeClock): RateLimit {
  const counts = new Map<string, number>();
  return {
    limit: async ({ key }) => {
      const bucket = `${key}@${Math.floor(clock.now() / PERIOD_MS)}`;
      const count = counts.get(bucket) ?? 0;
      if (count >= limit) return { success: false };
      counts.set(bucket, count + 1);
      return { success: true };
    },
  };
}

describe("after a 429", () => {
  afterEach(() => vi.restoreAllMocks());

  it("serves the client again once it has waited Retry-After", async () => {
    const clock = new FakeClock(Math.floor(Date.now() / PERIOD_MS) * PERIOD_MS + 59_000); // late in a window
    const limiter = fixedWindowLimiter(2, clock);
    const token = randomToken();
    for (let i = 0; i < 2; i++) expect((await send(limiter, [token], { token })).status).toBe(404);
    const limited = await send(limiter, [token], { token });
    expect(limited.status).toBe(429);

    clock.advance(Number(limited.headers.get("Retry-After")) * 1000);
    expect((await send(limiter, [token], { token })).status).toBe(404);
  });

  it("stays open when the limiter itself fails, and logs no token", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const failing: RateLimit = {
      limit: () => Promise.reject(new TypeError("limiter unavailable")),
    };
    const token = randomToken();
    expect((await send(failing, [token], { token })).status).toBe(404);
    expect(errors).toHaveBeenCalledWith('{"event":"rate_limiter_failed","error":"TypeError"}');
    for (const args of errors.mock.calls) expect(JSON.stringify(args)).not.toContain(token);
  });
});
