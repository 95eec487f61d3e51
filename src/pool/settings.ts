import { MAX_TTL_SECONDS } from "./config";
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

/** Same bounds as the [vars]: whole milliseconds, at least 1 ms, at most a year. */
function patched(current: number | null, seconds: number | null | undefined, name: string): number | null {
  if (seconds === undefined) return current;
  if (seconds === null) return null;
  const ms = Math.round(seconds * 1000);
  if (!Number.isFinite(ms) || ms < 1 || seconds > MAX_TTL_SECONDS) {
    throw new RangeError(`${name} must be from 0.001 to ${MAX_TTL_SECONDS} seconds`);
  }
  return ms;
}
