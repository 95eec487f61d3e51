import type { IRequest } from "itty-router";
import type { Config } from "../config";
import { logError } from "../log";
import { HttpError } from "./errors";

/**
 * The quota a rate-limited caller is counted against, as the IETF HTTPAPI RateLimit fields name it:
 * `client` (per client token) or `address` (callers without a valid token, per address).
 */
export interface RateLimitPolicy {
  readonly name: "client" | "address";
  readonly requests: number;
  readonly periodSeconds: number;
}

export function policyOf(name: RateLimitPolicy["name"], config: Config): RateLimitPolicy {
  return { name, requests: config.rateLimitRequests, periodSeconds: config.rateLimitPeriodSeconds };
}

/** `RateLimit-Policy`: the quota (`q`) per window (`w`, seconds). Exact: it is the binding's configuration. */
export function policyHeader(policy: RateLimitPolicy): string {
  return `"${policy.name}";q=${policy.requests};w=${policy.periodSeconds}`;
}

/**
 * `RateLimit` once the quota is spent: nothing remains (`r=0`, exact: the binding said no) and it
 * resets within a period (`t`, an upper bound: the binding does not say when its window ends). While
 * requests are allowed the binding does not say how many remain, so no `RateLimit` field is sent then.
 */
export function exhaustedHeader(policy: RateLimitPolicy): string {
  return `"${policy.name}";r=0;t=${policy.periodSeconds}`;
}

/**
 * Counts one request against `key` with the Workers Rate Limiting binding; over the limit is a 429
 * telling the client to wait one period (the binding does not say when its window ends, and after a
 * whole period every earlier request has left it).
 */
export async function enforceRateLimit(limiter: RateLimit, key: string, policy: RateLimitPolicy): Promise<void> {
  let allowed: boolean;
  try {
    allowed = (await limiter.limit({ key })).success;
  } catch (error) {
    // Fail open: an outage of the limiter must not take the key pool down with it. The key holds
    // a token's hash or an address, so it is not logged either.
    logError({ event: "rate_limiter_failed", error: error instanceof Error ? error.name : "?" });
    return;
  }
  if (!allowed) throw tooManyRequests(policy);
}

export function tooManyRequests(policy: RateLimitPolicy): HttpError {
  return new HttpError(429, `Too many requests: retry after ${policy.periodSeconds} seconds`, undefined, {
    "Retry-After": String(policy.periodSeconds),
    RateLimit: exhaustedHeader(policy),
  });
}

/** The caller's address as Cloudflare saw it; only tests and local tools send no such header. */
export function clientAddress(request: IRequest): string {
  return request.headers.get("CF-Connecting-IP") ?? "unknown";
}
