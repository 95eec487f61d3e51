/**
 * What an upstream service's answer says about the key it was sent with: the outcome to report, and
 * how long the upstream asked its caller to wait. Pure: it reads a status and headers, never a body,
 * and `now` (milliseconds since the epoch) is passed in.
 */

import { parseRateLimit } from "./rate-limit.js";
import type { ReportOutcome } from "./types.js";

/** The longest wait a report carries (a day): the most `POST /keys/{id}/report` accepts. */
export const MAX_REPORT_WAIT_SECONDS = 86_400;

/**
 * A bare number at least this large is a Unix time in seconds, not a wait: as a wait it would be 31
 * years, as a time it is September 2001. Upstreams send both forms under the same header name.
 */
const EPOCH_SECONDS_FROM = 1e9;
/** ...and at least this large, a Unix time in milliseconds (as seconds it would be the year 33658). */
const EPOCH_MS_FROM = 1e12;

/** What to report for an upstream's answer. */
export interface UpstreamReport {
  readonly outcome: ReportOutcome;
  /** The upstream's own wait, 0 to a day, for an outcome that may cool the key; else absent. */
  readonly retryAfterSeconds?: number | undefined;
}

/**
 * The outcome an upstream's status means for its key. 429: rate limited. 401 and 403: the key is
 * refused (revoked, or lacks the right), so it is disabled. 5xx: an error, counted against the key.
 * Everything else is ok: a 2xx or 3xx worked, and another 4xx (400, 404, 422, ...) is about the
 * request, not the key, so it must not cool or disable a good key.
 */
export function outcomeOf(status: number): ReportOutcome {
  if (status === 429) return "rate_limited";
  if (status === 401 || status === 403) return "unauthorized";
  if (status >= 500) return "error";
  return "ok";
}

/**
 * The report for an upstream's answer: its outcome, and for `rate_limited` and `error` (the outcomes
 * that may cool a key) the upstream's own wait, when it gave one.
 */
export function reportOf(
  response: { readonly status: number; readonly headers: Headers },
  now: number,
): UpstreamReport {
  const outcome = outcomeOf(response.status);
  if (outcome !== "rate_limited" && outcome !== "error") return { outcome };
  const retryAfterSeconds = waitOf(response.headers, now);
  return retryAfterSeconds === undefined ? { outcome } : { outcome, retryAfterSeconds };
}

/**
 * The longest wait the upstream's headers ask for, in seconds, clamped to 0..a day; undefined when
 * they hold none that can be read. Read: `Retry-After` (delta-seconds or an HTTP date), every
 * `*ratelimit-*reset*` field (`x-ratelimit-reset`, `-requests`, `-tokens`, `x-rate-limit-reset`,
 * `ratelimit-reset`, `anthropic-ratelimit-tokens-reset`, ...; see `resetSeconds` for their forms),
 * and the IETF `RateLimit` field's `t`. The longest wins: the key is not usable before every limit
 * the upstream named has reset.
 */
export function waitOf(headers: Headers, now: number): number | undefined {
  const hints: number[] = [];
  for (const [name, value] of headers) {
    const hint =
      name === "retry-after"
        ? retryAfterSeconds(value, now)
        : isResetField(name)
          ? resetSeconds(value, now)
          : undefined;
    if (hint !== undefined) hints.push(hint);
  }
  const reset = parseRateLimit(headers)?.resetSeconds;
  if (reset !== undefined) hints.push(reset);
  if (hints.length === 0) return undefined;
  const longest = Math.min(MAX_REPORT_WAIT_SECONDS, Math.max(0, ...hints));
  return Math.round(longest * 1000) / 1000; // whole milliseconds, as the pool keeps its deadlines
}

/** `x-ratelimit-reset`, `x-ratelimit-reset-tokens`, `x-rate-limit-reset`, `anthropic-ratelimit-requests-reset`... */
function isResetField(name: string): boolean {
  return /(^|-)rate-?limit(-[a-z0-9]+)*-reset(-[a-z0-9]+)*$/.test(name);
}

/**
 * `Retry-After` in seconds from `now`: delta-seconds (fractions are read too, as some upstreams send
 * them), or an HTTP date (a date passed is 0). Undefined for anything else.
 */
export function retryAfterSeconds(value: string, now: number): number | undefined {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  return httpDateSeconds(text, now);
}

/**
 * A rate-limit reset field in seconds from `now`. Its forms: a bare number, which by its magnitude is
 * a wait in seconds (`x-ratelimit-reset: 30`), a Unix time in seconds (`1767225600`, GitHub's and
 * X's form) or one in milliseconds; a Go-style duration (`1s`, `6m0s`, `20ms`, `1h2m3.5s`, OpenAI's
 * `x-ratelimit-reset-requests` and `-tokens`); an RFC 3339 time (`2026-11-25T12:00:03Z`); or an
 * HTTP date. A time passed is 0; anything else is undefined.
 */
export function resetSeconds(value: string, now: number): number | undefined {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    if (n >= EPOCH_MS_FROM) return Math.max(0, (n - now) / 1000);
    if (n >= EPOCH_SECONDS_FROM) return Math.max(0, n - now / 1000);
    return n;
  }
  const duration = durationSeconds(text);
  if (duration !== undefined) return duration;
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(text))
    return untilSeconds(Date.parse(text), now);
  return httpDateSeconds(text, now);
}

/** Seconds per unit of a Go duration (`time.Duration.String`). */
const UNIT_SECONDS: Readonly<Record<string, number>> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };

/** A Go-style duration (`1h2m3.5s`, `6m0s`, `20ms`, `0s`) in seconds, or undefined if it is not one. */
export function durationSeconds(value: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(value)) return undefined;
  let seconds = 0;
  for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    seconds += Number(amount) * (UNIT_SECONDS[unit as string] as number);
  }
  return seconds;
}

/**
 * An HTTP date (RFC 9110: IMF-fixdate, or the obsolete RFC 850 and asctime forms) in seconds from
 * `now`. Every HTTP date is GMT; asctime's form does not say so, and a parser would read it as local.
 */
function httpDateSeconds(text: string, now: number): number | undefined {
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(text);
  return untilSeconds(Date.parse(asctime ? `${text} GMT` : text), now);
}

function untilSeconds(at: number, now: number): number | undefined {
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
