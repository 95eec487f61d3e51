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
