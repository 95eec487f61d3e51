import type { IRequest } from "itty-router";
import { logError } from "../log";
import { HttpError } from "./errors";

/**
 * Counts one request against `key` with the Workers Rate Limiting binding; over the limit is a 429
 * telling the client to wait one period (the binding does not say when its window ends, and after a
 * whole period every earlier request has left it).
 */
export async function enforceRateLimit(limiter: RateLimit, key: string, periodSeconds: number): Promise<void> {
  let allowed: boolean;
  try {
    allowed = (await limiter.limit({ key })).success;
  } catch (error) {
    // Fail open: an outage of the limiter must not take the key pool down with it. The key holds
    // a token's hash or an address, so it is not logged either.
    logError({ event: "rate_limiter_failed", error: error instanceof Error ? error.name : "?" });
    return;
  }
  if (!allowed) {
    throw new HttpError(429, `Too many requests: retry after ${periodSeconds} seconds`, undefined, {
      "Retry-After": String(periodSeconds),
    });
  }
}

/** The caller's address as Cloudflare saw it; only tests and local tools send no such header. */
export function clientAddress(request: IRequest): string {
  return request.headers.get("CF-Connecting-IP") ?? "unknown";
}
