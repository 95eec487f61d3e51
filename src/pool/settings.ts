import { MAX_TTL_SECONDS, MIN_TTL_SECONDS, ttlMs } from "./limits";
import type { PoolTimings } from "./rules";

/**
 * Who may read a key's value with `GET /keys/{id}`: `anyone` (the original prototype's contract: the
 * value of any key that is not blocked, and the holder's own key), or only the `holder` of a block,
 * with its secret, so that no value is ever shown to a caller that does not hold the key.
 */
export type RevealValues = "anyone" | "holder";
export const REVEAL_VALUES: readonly RevealValues[] = ["anyone", "holder"];

/**
 * What an operator set with `PUT /pools/{pool}/settings`. A pool stores only what was overridden;
 * `null` means "the default" (the [vars] for timings), so changing a default in `wrangler.toml` still
 * reaches every pool that never overrode it.
 */
export interface SettingsOverrides {
  readonly keyTtlMs: number | null;
  readonly blockTtlMs: number | null;
  readonly revealValues: RevealValues | null;
}

export const NO_OVERRIDES: SettingsOverrides = { keyTtlMs: null, blockTtlMs: null, revealValues: null };

/** A change: a value sets it, `null` goes back to the default, absent leaves it. */
export interface SettingsPatch {
  readonly keyTtlSeconds?: number | null | undefined;
  readonly blockTtlSeconds?: number | null | undefined;
  readonly revealValues?: RevealValues | null | undefined;
}

/** What `GET /pools/{pool}` and `PUT /pools/{pool}/settings` show: the settings in force. */
export interface PoolSettings {
  readonly keyTtlSeconds: number;
  readonly blockTtlSeconds: number;
  readonly revealValues: RevealValues;
}

/** The settings in force: the defaults with the overrides applied. */
export interface EffectiveSettings {
  readonly timings: PoolTimings;
  readonly revealValues: RevealValues;
}

export function effectiveSettings(defaults: PoolTimings, overrides: SettingsOverrides): EffectiveSettings {
  return {
    timings: {
      keyTtlMs: overrides.keyTtlMs ?? defaults.keyTtlMs,
      blockTtlMs: overrides.blockTtlMs ?? defaults.blockTtlMs,
    },
    revealValues: overrides.revealValues ?? "anyone",
  };
}

export function applyPatch(overrides: SettingsOverrides, patch: SettingsPatch): SettingsOverrides {
  return {
    keyTtlMs: patched(overrides.keyTtlMs, patch.keyTtlSeconds, "keyTtlSeconds"),
    blockTtlMs: patched(overrides.blockTtlMs, patch.blockTtlSeconds, "blockTtlSeconds"),
    revealValues: patch.revealValues === undefined ? overrides.revealValues : patch.revealValues,
  };
}

export function toSettings({ timings, revealValues }: EffectiveSettings): PoolSettings {
  return { keyTtlSeconds: timings.keyTtlMs / 1000, blockTtlSeconds: timings.blockTtlMs / 1000, revealValues };
}

/** Same bounds as the [vars]: whole milliseconds, MIN_TTL_SECONDS to MAX_TTL_SECONDS. */
function patched(current: number | null, seconds: number | null | undefined, name: string): number | null {
  if (seconds === undefined) return current;
  if (seconds === null) return null;
  const ms = ttlMs(seconds);
  if (ms === null) throw new RangeError(`${name} must be from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS} seconds`);
  return ms;
}
