import {
  DAY_MS,
  DEFAULT_AUDIT_RETENTION_DAYS,
  DEFAULT_COOLDOWN_SECONDS,
  DEFAULT_MAX_FAILURES,
  MAX_AUDIT_RETENTION_DAYS,
  MAX_COOLDOWN_SECONDS,
  MAX_LOCK_DELAY_SECONDS,
  MAX_MAX_FAILURES,
  MAX_TTL_SECONDS,
  MIN_TTL_SECONDS,
  ttlMs,
} from "./limits";
import type { PoolTimings, ReportPolicy } from "./rules";

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
  readonly keysExpire: boolean | null;
  /**
   * When `keysExpire` last changed (null: never): keys that had no expiry when it was switched on
   * expire one key TTL after this, whenever the alarm gets to write their deadline.
   */
  readonly expirySwitchedAt: number | null;
  /** How long a report's cooldown lasts when the upstream gave no wait of its own. */
  readonly cooldownMs: number | null;
  /** Consecutive `error` reports that start a cooldown. */
  readonly maxFailures: number | null;
  /** How long a key cools down after a block that ran out (its holder never released it). */
  readonly lockDelayMs: number | null;
  /** Days the audit trail keeps its entries; 0: the pool keeps no trail. */
  readonly auditRetentionDays: number | null;
}

export const NO_OVERRIDES: SettingsOverrides = {
  keyTtlMs: null,
  blockTtlMs: null,
  revealValues: null,
  keysExpire: null,
  expirySwitchedAt: null,
  cooldownMs: null,
  maxFailures: null,
  lockDelayMs: null,
  auditRetentionDays: null,
};

/** A change: a value sets it, `null` goes back to the default, absent leaves it. */
export interface SettingsPatch {
  readonly keyTtlSeconds?: number | null | undefined;
  readonly blockTtlSeconds?: number | null | undefined;
  readonly revealValues?: RevealValues | null | undefined;
  readonly keysExpire?: boolean | null | undefined;
  readonly cooldownSeconds?: number | null | undefined;
  readonly maxFailures?: number | null | undefined;
  readonly lockDelaySeconds?: number | null | undefined;
  readonly auditRetentionDays?: number | null | undefined;
}

/** What `GET /pools/{pool}` and `PUT /pools/{pool}/settings` show: the settings in force. */
export interface PoolSettings {
  readonly keyTtlSeconds: number;
  readonly blockTtlSeconds: number;
  readonly revealValues: RevealValues;
  readonly keysExpire: boolean;
  readonly cooldownSeconds: number;
  readonly maxFailures: number;
  readonly lockDelaySeconds: number;
  readonly auditRetentionDays: number;
}

/** The settings in force: the defaults with the overrides applied. */
export interface EffectiveSettings {
  readonly timings: PoolTimings;
  readonly revealValues: RevealValues;
  /** Whether keys expire when not kept alive (the original contract), or live until deleted. */
  readonly keysExpire: boolean;
  readonly expirySwitchedAt: number | null;
  /** How reports cool keys down. */
  readonly reports: ReportPolicy;
  readonly lockDelayMs: number;
  /** How long an audit entry is kept; 0: none is written. */
  readonly auditRetentionMs: number;
}

export function effectiveSettings(defaults: PoolTimings, overrides: SettingsOverrides): EffectiveSettings {
  return {
    timings: {
      keyTtlMs: overrides.keyTtlMs ?? defaults.keyTtlMs,
      blockTtlMs: overrides.blockTtlMs ?? defaults.blockTtlMs,
    },
    revealValues: overrides.revealValues ?? "anyone",
    keysExpire: overrides.keysExpire ?? true,
    expirySwitchedAt: overrides.expirySwitchedAt,
    reports: {
      cooldownMs: overrides.cooldownMs ?? DEFAULT_COOLDOWN_SECONDS * 1000,
      maxFailures: overrides.maxFailures ?? DEFAULT_MAX_FAILURES,
    },
    lockDelayMs: overrides.lockDelayMs ?? 0,
    auditRetentionMs: (overrides.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS) * DAY_MS,
  };
}

/** The overrides after `patch`, made at `now` (when `keysExpire` changes, the switch is dated). */
export function applyPatch(overrides: SettingsOverrides, patch: SettingsPatch, now: number): SettingsOverrides {
  const keysExpire = patch.keysExpire === undefined ? overrides.keysExpire : patch.keysExpire;
  const switched = (keysExpire ?? true) !== (overrides.keysExpire ?? true);
  return {
    keyTtlMs: patched(overrides.keyTtlMs, patch.keyTtlSeconds, "keyTtlSeconds"),
    blockTtlMs: patched(overrides.blockTtlMs, patch.blockTtlSeconds, "blockTtlSeconds"),
    revealValues: patch.revealValues === undefined ? overrides.revealValues : patch.revealValues,
    keysExpire,
    expirySwitchedAt: switched ? now : overrides.expirySwitchedAt,
    cooldownMs: wholeMs(overrides.cooldownMs, patch.cooldownSeconds, 0, MAX_COOLDOWN_SECONDS, "cooldownSeconds"),
    maxFailures: patch.maxFailures === undefined ? overrides.maxFailures : failuresOf(patch.maxFailures),
    lockDelayMs: wholeMs(overrides.lockDelayMs, patch.lockDelaySeconds, 0, MAX_LOCK_DELAY_SECONDS, "lockDelaySeconds"),
    auditRetentionDays:
      patch.auditRetentionDays === undefined ? overrides.auditRetentionDays : retentionOf(patch.auditRetentionDays),
  };
}

export function toSettings(settings: EffectiveSettings): PoolSettings {
  const { timings, revealValues, keysExpire, reports, lockDelayMs, auditRetentionMs } = settings;
  return {
    keyTtlSeconds: timings.keyTtlMs / 1000,
    blockTtlSeconds: timings.blockTtlMs / 1000,
    revealValues,
    keysExpire,
    cooldownSeconds: reports.cooldownMs / 1000,
    maxFailures: reports.maxFailures,
    lockDelaySeconds: lockDelayMs / 1000,
    auditRetentionDays: auditRetentionMs / DAY_MS,
  };
}

/** How long a key lives from its last activity in a pool with these settings: the key TTL, or for ever. */
export function lifetimeOf(settings: EffectiveSettings): number | null {
  return settings.keysExpire ? settings.timings.keyTtlMs : null;
}

/**
 * A stored key's expiry as the pool's settings make it: none while keys do not expire (even before
 * the alarm has removed the stored deadline), and one key TTL after the switch for a key that had
 * none when they were switched on (even before the alarm has written it).
 */
export function effectiveExpiry(stored: number | null, settings: EffectiveSettings): number | null {
  if (!settings.keysExpire) return null;
  if (stored !== null) return stored;
  return (settings.expirySwitchedAt ?? 0) + settings.timings.keyTtlMs;
}

/** A number of seconds from `min` to `max` as whole milliseconds; null goes back to the default. */
function wholeMs(current: number | null, seconds: number | null | undefined, min: number, max: number, name: string) {
  if (seconds === undefined) return current;
  if (seconds === null) return null;
  if (!Number.isFinite(seconds) || seconds < min || seconds > max) {
    throw new RangeError(`${name} must be from ${min} to ${max} seconds`);
  }
  return Math.round(seconds * 1000);
}

function retentionOf(days: number | null): number | null {
  if (days !== null && (!Number.isInteger(days) || days < 0 || days > MAX_AUDIT_RETENTION_DAYS)) {
    throw new RangeError(`auditRetentionDays must be a whole number from 0 to ${MAX_AUDIT_RETENTION_DAYS}`);
  }
  return days;
}

function failuresOf(failures: number | null): number | null {
  if (failures !== null && (!Number.isInteger(failures) || failures < 1 || failures > MAX_MAX_FAILURES)) {
    throw new RangeError(`maxFailures must be a whole number from 1 to ${MAX_MAX_FAILURES}`);
  }
  return failures;
}

/** Same bounds as the [vars]: whole milliseconds, MIN_TTL_SECONDS to MAX_TTL_SECONDS. */
function patched(current: number | null, seconds: number | null | undefined, name: string): number | null {
  if (seconds === undefined) return current;
  if (seconds === null) return null;
  const ms = ttlMs(seconds);
  if (ms === null) throw new RangeError(`${name} must be from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS} seconds`);
  return ms;
}
