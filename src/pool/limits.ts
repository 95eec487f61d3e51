/**
 * Every bound KeyPool enforces, declared once: the zod schemas of the HTTP layer (and so
 * /openapi.json) and the pool's own checks both read them from here.
 */

/** Most keys one `POST /keys` creates, in one transaction. */
export const MAX_BULK_CREATE = 1000;

/** Most keys one listing page holds, and how many it holds unless asked. */
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;

/**
 * The range of a TTL, whether a [vars] default or a pool setting, in seconds. Deadlines are whole
 * milliseconds, so a TTL below one would expire keys on creation; a year is far beyond any sensible
 * TTL and keeps every deadline a safe integer of milliseconds.
 */
export const MIN_TTL_SECONDS = 0.001;
export const MAX_TTL_SECONDS = 365 * 24 * 3600;

/** The shortest hold an assignment may ask for (`holdSeconds`); the longest is the MAX_HOLD_SECONDS var. */
export const MIN_HOLD_SECONDS = 1;

/**
 * A TTL in seconds as the whole milliseconds it stands for, or null when it is out of range (under
 * MIN_TTL_SECONDS once rounded, over MAX_TTL_SECONDS, or not a finite number).
 */
export function ttlMs(seconds: number): number | null {
  const ms = Math.round(seconds * 1000);
  if (!Number.isFinite(ms) || ms < MIN_TTL_SECONDS * 1000 || seconds > MAX_TTL_SECONDS) return null;
  return ms;
}

/** Most UTF-8 bytes of an imported value: long enough for JSON service-account credentials and JWTs. */
export const MAX_VALUE_BYTES = 8 * 1024;

/** Most characters of a key's label. */
export const MAX_LABEL_LENGTH = 128;

/** How many of an imported value's last characters its hint shows... */
export const HINT_LENGTH = 4;
/** ...when it has at least this many (four of a shorter value would give away too much of it). */
export const MIN_LENGTH_FOR_HINT = 12;

/**
 * The hint of an imported value: its last HINT_LENGTH characters (code points, so a character outside
 * the BMP is never cut in half), or null for a short value. It reads only the ends of the value.
 */
export function hintOf(value: string): string | null {
  let characters = 0;
  for (const _ of value) if (++characters === MIN_LENGTH_FOR_HINT) break;
  if (characters < MIN_LENGTH_FOR_HINT) return null;
  let start = value.length;
  for (let taken = 0; taken < HINT_LENGTH; taken++) {
    start -= 1;
    const low = value.charCodeAt(start);
    if (start > 0 && low >= 0xdc00 && low <= 0xdfff && isHighSurrogate(value.charCodeAt(start - 1))) start -= 1;
  }
  return value.slice(start);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** A report's cooldown when the upstream gave no wait of its own, unless the pool sets `cooldownSeconds`. */
export const DEFAULT_COOLDOWN_SECONDS = 60;
/** The longest cooldown a pool may set, and the longest wait a report may give (`retryAfterSeconds`): a day. */
export const MAX_COOLDOWN_SECONDS = 86_400;
/** Consecutive `error` reports that start a cooldown, unless the pool sets `maxFailures`; and its largest value. */
export const DEFAULT_MAX_FAILURES = 3;
export const MAX_MAX_FAILURES = 100;
/** The longest lock-delay a pool may set (`lockDelaySeconds`). */
export const MAX_LOCK_DELAY_SECONDS = 60;
/** How long a pool keeps its audit trail unless it sets `auditRetentionDays`; and the longest it may. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 30;
export const MAX_AUDIT_RETENTION_DAYS = 400;
export const DAY_MS = 86_400_000;
/** The longest wait for a key a deployment may allow (MAX_WAIT_SECONDS), whatever its var says. */
export const MAX_WAIT_SECONDS_LIMIT = 300;
