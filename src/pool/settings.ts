import { MAX_TTL_SECONDS, MIN_TTL_SECONDS, ttlMs } from "./limits";
import type { PoolTimings } from "./rules";

/**
 * Per-pool timings an operator sets with `PUT /pools/{pool}/settings`. A pool stores only what was
 * overridden; `null` means "the [vars] default", so changing a default in `wrangler.toml` still
 * reaches every pool that never overrode it.
 */
export interface TimingOverrides {
  readonly keyTtlMs: number | null;
  readonly blockTtlMs: number | null;
}

export const NO_OVERRIDES: TimingOverrides = { keyTtlMs: null, blockTtlMs: null };

/** A change: a number of seconds sets a value, `null` goes back to the default, absent leaves it. */
export interface SettingsPatch {
  readonly keyTtlSeconds?: number | null | undefined;
  readonly blockTtlSeconds?: number | null | undefined;
}

/** What `GET /pools/{pool}` and `PUT /pools/{pool}/settings` show: the timings in force. */
export interface PoolSettings {
  readonly keyTtlSeconds: number;
  readonly blockTtlSeconds: number;
}

export function effectiveTimings(defaults: PoolTimings, overrides: TimingOverrides): PoolTimings {
  return {
    keyTtlMs: overrides.keyTtlMs ?? defaults.keyTtlMs,
    blockTtlMs: overrides.blockTtlMs ?? defaults.blockTtlMs,
  };
}

export function applyPatch(overrides: TimingOverrides, patch: SettingsPatch): TimingOverrides {
  return {
    keyTtlMs: patched(overrides.keyTtlMs, patch.keyTtlSeconds, "keyTtlSeconds"),
    blockTtlMs: patched(overrides.blockTtlMs, patch.blockTtlSeconds, "blockTtlSeconds"),
  };
}

export function toSettings(timings: PoolTimings): PoolSettings {
  return { keyTtlSeconds: timings.keyTtlMs / 1000, blockTtlSeconds: timings.blockTtlMs / 1000 };
}

/** Whether two sets of timings differ. */
export function timingsDiffer(a: PoolTimings, b: PoolTimings): boolean {
  return a.keyTtlMs !== b.keyTtlMs || a.blockTtlMs !== b.blockTtlMs;
}

/** Same bounds as the [vars]: whole milliseconds, MIN_TTL_SECONDS to MAX_TTL_SECONDS. */
function patched(current: number | null, seconds: number | null | undefined, name: string): number | null {
  if (seconds === undefined) return current;
  if (seconds === null) return null;
  const ms = ttlMs(seconds);
  if (ms === null) throw new RangeError(`${name} must be from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS} seconds`);
  return ms;
}
