import type { PoolTimings } from "./rules";

/** The `[vars]` KeyPool reads; everything else in `env` is a binding. */
export interface ConfigVars {
  readonly KEY_TTL_SECONDS?: string | undefined;
  readonly BLOCK_TTL_SECONDS?: string | undefined;
  readonly MAX_HOLD_SECONDS?: string | undefined;
}

export const DEFAULT_KEY_TTL_SECONDS = 300;
export const DEFAULT_BLOCK_TTL_SECONDS = 60;
export const DEFAULT_MAX_HOLD_SECONDS = 3600;

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses the pool timings from `env` once; a bad value fails with a message naming the variable. */
export function parseTimings(vars: ConfigVars): PoolTimings {
  return {
    keyTtlMs: seconds(vars, "KEY_TTL_SECONDS", DEFAULT_KEY_TTL_SECONDS) * 1000,
    blockTtlMs: seconds(vars, "BLOCK_TTL_SECONDS", DEFAULT_BLOCK_TTL_SECONDS) * 1000,
  };
}

/** The longest hold an assignment may ask for (`GET /keys?holdSeconds=`), in milliseconds. */
export function parseMaxHoldMs(vars: ConfigVars): number {
  return seconds(vars, "MAX_HOLD_SECONDS", DEFAULT_MAX_HOLD_SECONDS) * 1000;
}

// A year is far beyond any sensible TTL and keeps every deadline a safe integer of milliseconds.
export const MAX_TTL_SECONDS = 365 * 24 * 3600;

function seconds(vars: ConfigVars, name: keyof ConfigVars, fallback: number): number {
  const raw = vars[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > MAX_TTL_SECONDS) {
    throw new ConfigError(`${name} must be a positive number of seconds up to ${MAX_TTL_SECONDS}, got "${raw}"`);
  }
  // Deadlines are whole milliseconds; a TTL that rounds to zero would expire keys on creation.
  if (Math.round(value * 1000) < 1) throw new ConfigError(`${name} must be at least 0.001 seconds, got "${raw}"`);
  return Math.round(value * 1000) / 1000;
}
