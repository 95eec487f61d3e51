import { describe, expect, it } from "vitest";
import {
  durationSeconds,
  MAX_REPORT_WAIT_SECONDS,
  outcomeOf,
  reportOf,
  resetSeconds,
  retryAfterSeconds,
  waitOf,
} from "../../packages/client/src/upstream.js";

/** The reference time of every case: 2026-11-25T12:00:00.000Z. */
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const NOW_SECONDS = NOW / 1000;
const headers = (fields: Record<string, string>) => new Headers(fields);
const answer = (status: number, fields: Record<string, string> = {}) => ({ status, headers: headers(fields) });

describe("an upstream's status", () => {
  it("429 is rate_limited; 401 and 403 unauthorized; every 5xx an error", () => {
    expect(outcomeOf(429)).toBe("rate_limited");
    expect(outcomeOf(401)).toBe("unauthorized");
    expect(outcomeOf(403)).toBe("unauthorized");
    for (const status of [500, 501, 502, 503, 504, 529, 599]) expect(outcomeOf(status), String(status)).toBe("error");
  });

  it("2xx, 3xx and the other 4xx are ok: they say nothing against the key", () => {
    for (const status of [200, 201, 204, 301, 304, 400, 402, 404, 408, 409, 413, 422]) {
      expect(outcomeOf(status), String(status)).toBe("ok");
    }
  });
});

describe("Retry-After", () => {
  it("reads delta-seconds, fractions included", () => {
    expect(retryAfterSeconds("2", NOW)).toBe(2);
    expect(retryAfterSeconds(" 0 ", NOW)).toBe(0);
    expect(retryAfterSeconds("120", NOW)).toBe(120);
    expect(retryAfterSeconds("1.5", NOW)).toBe(1.5);
  });

  it("reads an HTTP date in each of its three forms, from the reference time; a date passed is 0", () => {
    expect(retryAfterSeconds("Wed, 25 Nov 2026 12:00:07 GMT", NOW)).toBe(7);
    expect(retryAfterSeconds(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90);
    expect(retryAfterSeconds("Wednesday, 25-Nov-26 12:01:00 GMT", NOW)).toBe(60);
    // asctime has no zone: it is GMT all the same, whatever the machine's own zone.
    expect(retryAfterSeconds("Wed Nov 25 12:00:30 2026", NOW)).toBe(30);
    expect(retryAfterSeconds("Wed Nov  4 12:00:00 2026", NOW)).toBe(0);
    expect(retryAfterSeconds("Wed, 25 Nov 2026 11:59:00 GMT", NOW)).toBe(0);
    // The same date read at another time gives another wait.
    expect(retryAfterSeconds("Wed, 25 Nov 2026 12:00:07 GMT", NOW + 5_000)).toBe(2);
  });

  it("reads nothing else", () => {
    for (const value of ["", "soon", "-1", "1e3", "0x10", "2 s", "1,5", "12:00:07"]) {
      expect(retryAfterSeconds(value, NOW), value).toBeUndefined();
    }
  });
});

describe("a rate-limit reset field", () => {
  it("reads a small number as seconds from now", () => {
    expect(resetSeconds("30", NOW)).toBe(30);
    expect(resetSeconds("0", NOW)).toBe(0);
    expect(resetSeconds("0.25", NOW)).toBe(0.25);
    expect(resetSeconds("999999999", NOW)).toBe(999_999_999); // still a wait: waitOf clamps it to a day
  });

  it("reads a large number as a Unix time, in seconds or in milliseconds; a time passed is 0", () => {
    expect(resetSeconds(String(NOW_SECONDS + 20), NOW)).toBe(20);
    expect(resetSeconds(`${NOW_SECONDS + 2}.5`, NOW)).toBeCloseTo(2.5, 6); // Discord's form
    expect(resetSeconds(String(NOW + 1_500), NOW)).toBe(1.5);
    expect(resetSeconds(String(NOW_SECONDS - 60), NOW)).toBe(0);
    expect(resetSeconds(String(NOW - 60_000), NOW)).toBe(0);
    expect(resetSeconds("1000000000", NOW)).toBe(0); // 2001: the smallest number read as a time
  });

  it("reads a Go duration, OpenAI's form", () => {
    expect(resetSeconds("1s", NOW)).toBe(1);
    expect(resetSeconds("6m0s", NOW)).toBe(360);
    expect(resetSeconds("20ms", NOW)).toBeCloseTo(0.02, 9);
    expect(resetSeconds("1h2m3.5s", NOW)).toBe(3723.5);
    expect(resetSeconds("2m59.56s", NOW)).toBeCloseTo(179.56, 9);
  });

  it("reads an RFC 3339 time and an HTTP date", () => {
    expect(resetSeconds("2026-11-25T12:00:03Z", NOW)).toBe(3);
    expect(resetSeconds("2026-11-25T13:00:03.5+01:00", NOW)).toBe(3.5);
    expect(resetSeconds("2026-11-25T11:00:00Z", NOW)).toBe(0);
    expect(resetSeconds("Wed, 25 Nov 2026 12:00:09 GMT", NOW)).toBe(9);
  });

  it("reads nothing else", () => {
    for (const value of ["", "soon", "-5", "1x", "m", "s1", "1 s", "1.s", "2026-11-25"]) {
      expect(resetSeconds(value, NOW), value).toBeUndefined();
    }
  });
});

describe("Go durations", () => {
  it("add up every unit Go prints", () => {
    expect(durationSeconds("0s")).toBe(0);
    expect(durationSeconds("1h")).toBe(3600);
    expect(durationSeconds("1h0m0s")).toBe(3600);
    expect(durationSeconds("90m")).toBe(5400);
    expect(durationSeconds("1.5s")).toBe(1.5);
    expect(durationSeconds("500ms")).toBe(0.5);
    expect(durationSeconds("250us")).toBeCloseTo(0.000_25, 12);
    expect(durationSeconds("250µs")).toBeCloseTo(0.000_25, 12);
    expect(durationSeconds("100ns")).toBeCloseTo(1e-7, 15);
    expect(durationSeconds("1m30s500ms")).toBe(90.5);
  });

  it("are nothing without a unit after every number", () => {
    for (const value of ["", "1", "s", "1sm", "1d", "-1s", "1h 2m", "1.5"])
      expect(durationSeconds(value), value).toBeUndefined();
  });
});

describe("the wait an answer asks for", () => {
  it("is the longest of its hints", () => {
    const openai = headers({
      "retry-after": "2",
      "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-reset-tokens": "6m0s",
      "x-ratelimit-remaining-tokens": "0",
    });
    expect(waitOf(openai, NOW)).toBe(360);
    expect(waitOf(headers({ "Retry-After": "20", "X-RateLimit-Reset": String(NOW_SECONDS + 5) }), NOW)).toBe(20);
    expect(waitOf(headers({ "retry-after": "5", "x-ratelimit-reset": String(NOW_SECONDS + 45) }), NOW)).toBe(45);
  });

  it("reads every reset field by its name, whatever the vendor's prefix", () => {
    const wait = (name: string, value: string) => waitOf(headers({ [name]: value }), NOW);
    expect(wait("x-ratelimit-reset", "12")).toBe(12);
    expect(wait("x-ratelimit-reset-requests", "12s")).toBe(12);
    expect(wait("x-ratelimit-reset-tokens", "12s")).toBe(12);
    expect(wait("x-ratelimit-reset-after", "12.5")).toBe(12.5);
    expect(wait("x-rate-limit-reset", String(NOW_SECONDS + 12))).toBe(12);
    expect(wait("ratelimit-reset", "12")).toBe(12);
    expect(wait("anthropic-ratelimit-tokens-reset", "2026-11-25T12:00:12Z")).toBe(12);
    expect(wait("ratelimit", '"default";r=0;t=12')).toBe(12);
  });

  it("reads nothing from fields that are not waits, nor from a hint it cannot read", () => {
    const unrelated = headers({
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-used": "5000",
      "ratelimit-policy": '"default";q=100;w=60',
      "x-reset": "10",
      date: "Wed, 25 Nov 2026 12:00:00 GMT",
      expires: "Wed, 25 Nov 2026 13:00:00 GMT",
    });
    expect(waitOf(unrelated, NOW)).toBeUndefined();
    expect(waitOf(headers({ "retry-after": "soon", "x-ratelimit-reset": "later" }), NOW)).toBeUndefined();
    expect(waitOf(headers({ "retry-after": "soon", "x-ratelimit-reset": "8" }), NOW)).toBe(8);
  });

  it("is clamped to 0..a day, in whole milliseconds", () => {
    expect(MAX_REPORT_WAIT_SECONDS).toBe(86_400);
    expect(waitOf(headers({ "retry-after": "90000" }), NOW)).toBe(86_400);
    expect(waitOf(headers({ "x-ratelimit-reset": "999999999" }), NOW)).toBe(86_400);
    expect(waitOf(headers({ "x-ratelimit-reset": String(NOW_SECONDS + 2 * 86_400) }), NOW)).toBe(86_400);
    expect(waitOf(headers({ "retry-after": "Wed, 25 Nov 2026 11:00:00 GMT" }), NOW)).toBe(0);
    expect(waitOf(headers({ "x-ratelimit-reset-tokens": "1.2345678s" }), NOW)).toBe(1.235);
    expect(waitOf(headers({ "x-ratelimit-reset-tokens": "20ms" }), NOW)).toBe(0.02);
  });
});

describe("the report for an answer", () => {
  it("carries the wait with rate_limited and error, the outcomes that may cool a key", () => {
    expect(reportOf(answer(429, { "retry-after": "2" }), NOW)).toEqual({
      outcome: "rate_limited",
      retryAfterSeconds: 2,
    });
    expect(reportOf(answer(503, { "retry-after": "30" }), NOW)).toEqual({ outcome: "error", retryAfterSeconds: 30 });
  });

  it("has no wait when the upstream gave none: the pool's cooldown applies", () => {
    expect(reportOf(answer(429), NOW)).toEqual({ outcome: "rate_limited" });
    expect(reportOf(answer(500), NOW)).toEqual({ outcome: "error" });
  });

  it("ignores the hints of an ok or unauthorized answer (OpenAI sends its resets on every answer)", () => {
    expect(reportOf(answer(200, { "x-ratelimit-reset-tokens": "6m0s", "retry-after": "5" }), NOW)).toEqual({
      outcome: "ok",
    });
    expect(reportOf(answer(401, { "retry-after": "5" }), NOW)).toEqual({ outcome: "unauthorized" });
    expect(reportOf(answer(403), NOW)).toEqual({ outcome: "unauthorized" });
  });
});
