import type { KeySource, NewKey } from "../../src/pool/rules";

/** A new key for the pure rules: a generated key whose value is stored as it is, unless told otherwise. */
export function newKey(keyId: string, fields: { source?: KeySource; label?: string; hint?: string } = {}): NewKey {
  return {
    keyId,
    secret: { bytes: new TextEncoder().encode(`value of ${keyId}`), sealedBy: null },
    source: fields.source ?? "generated",
    label: fields.label ?? null,
    hint: fields.hint ?? null,
  };
}

/** What a key shows besides its times: a generated key with no label. */
export const GENERATED = { source: "generated", label: null, hint: null } as const;

/** A key's report fields as stored before any report, for rows written out by hand. */
export const UNREPORTED = {
  coolingUntil: null,
  disabledAt: null,
  failures: 0,
  lastOutcome: null,
  lastReportAt: null,
} as const;

/** What a free key shows of its health: never reported, free. */
export const HEALTHY = {
  state: "free",
  coolingUntil: null,
  failures: 0,
  lastOutcome: null,
  lastReportAt: null,
} as const;

/** A pool's settings when nothing overrides them, as `GET /pools/{pool}` shows them (the test [vars]). */
export const DEFAULT_SETTINGS = {
  keyTtlSeconds: 300,
  blockTtlSeconds: 60,
  revealValues: "anyone",
  keysExpire: true,
  cooldownSeconds: 60,
  maxFailures: 3,
  lockDelaySeconds: 0,
  auditRetentionDays: 30,
} as const;
