import { describe, expect, it } from "vitest";
import { backoffMs, DEFAULT_RETRY, isRetryableStatus, parseRetryAfter } from "../../packages/client/src/retry.js";

describe("retry rules", () => {
  it("retries throttling and server errors, nothing else", () => {
    for (const status of [429, 500, 502, 503, 504]) expect(isRetryableStatus(status), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 413, 415, 422]) expect(isRetryableStatus(status)).toBe(false);
  });

  it("backs off exponentially with full jitter, up to the ceiling", () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((retry) => backoffMs(retry, policy, () => 0.999_999))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffMs(3, policy, () => 0)).toBe(0);
    expect(backoffMs(2, policy, () => 0.5)).toBe(100);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter(new Date(now + 3_000).toUTCString(), now)).toBe(3_000);
    expect(parseRetryAfter(new Date(now - 3_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-1", now)).toBeUndefined();
  });
});
