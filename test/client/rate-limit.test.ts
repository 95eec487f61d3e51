import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KeyPoolClient, KeyPoolError, type Timers } from "../../packages/client/src/index.js";
import { parseRateLimit } from "../../packages/client/src/rate-limit.js";
import { buildRouter } from "../../src/http/router";
import { CLIENT_TOKEN } from "../support/http";

const headers = (fields: Record<string, string>) => new Headers(fields);

describe("reading the RateLimit fields", () => {
  it("reads the policy's quota and window, and once spent, what remains and when it resets", () => {
    expect(parseRateLimit(headers({ "RateLimit-Policy": '"client";q=300;w=60' }))).toEqual({
      policy: "client",
      quota: 300,
      windowSeconds: 60,
      remaining: undefined,
      resetSeconds: undefined,
    });
    const spent = headers({ "RateLimit-Policy": '"address";q=5;w=10', RateLimit: '"address";r=0;t=7' });
    expect(parseRateLimit(spent)).toMatchObject({ policy: "address", quota: 5, remaining: 0, resetSeconds: 7 });
  });

  it("reads nothing from an answer without them, and skips what it cannot read", () => {
    expect(parseRateLimit(headers({}))).toBeUndefined();
    expect(parseRateLimit(headers({ "RateLimit-Policy": "%%%" }))).toBeUndefined();
    expect(parseRateLimit(headers({ RateLimit: '"client";r=abc;t=5' }))).toMatchObject({
      remaining: undefined,
      resetSeconds: 5,
    });
  });
});

describe("a rate-limited client", () => {
  /** A KeyPool whose limiter refuses every request, as after a client spent its quota. */
  const spent = { ...env, RATE_LIMITER: { limit: async () => ({ success: false }) } } as Env;
  const router = buildRouter();
  const noWaiting: Timers = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };

  it("gets a KeyPoolError with the quota, the window and the reset the server sent", async () => {
    const client = new KeyPoolClient({
      baseUrl: "http://keypool.test",
      token: CLIENT_TOKEN,
      fetch: (request) => router.fetch(request, spent, createExecutionContext()),
      retry: { attempts: 1 },
      timers: noWaiting,
    });
    const error = await client.info(crypto.randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyPoolError);
    expect(error).toMatchObject({
      status: 429,
      retryAfterMs: 60_000,
      rateLimit: { policy: "client", quota: 300, windowSeconds: 60, remaining: 0, resetSeconds: 60 },
    });
  });

  it("waits for the reset the RateLimit field gives when an answer has no Retry-After", async () => {
    const waits: number[] = [];
    const timers: Timers = {
      now: () => 0,
      setTimeout(callback, ms) {
        waits.push(ms);
        queueMicrotask(() => void callback());
        return 0;
      },
      clearTimeout() {},
    };
    const answers = [
      new Response('{"error":"slow down"}', { status: 429, headers: { RateLimit: '"client";r=0;t=3' } }),
      new Response('{"keyId":"k"}', { status: 201 }),
    ];
    const client = new KeyPoolClient({
      baseUrl: "http://k.test",
      fetch: async () => answers.shift() as Response,
      timers,
    });
    await expect(client.createKey()).resolves.toEqual({ keyId: "k" });
    expect(waits).toEqual([3_000]);
  });
});
