import type { EncryptionStatus } from "../pool/encryption";
import {
  DEFAULT_AUDIT_RETENTION_DAYS,
  DEFAULT_COOLDOWN_SECONDS,
  DEFAULT_LIST_LIMIT,
  DEFAULT_MAX_FAILURES,
  MAX_AUDIT_RETENTION_DAYS,
  MAX_COOLDOWN_SECONDS,
  MAX_LIST_LIMIT,
  MAX_LOCK_DELAY_SECONDS,
  MAX_MAX_FAILURES,
  MAX_TTL_SECONDS,
  MIN_TTL_SECONDS,
} from "../pool/limits";
import { FREE_LIST_WINDOW } from "../pool/listing";
import { type PoolSettings, REVEAL_VALUES } from "../pool/settings";
import type * as views from "../pool/views";
import { exactly, ListedKey, PoolName, queryNumber } from "./schemas";
import "./zod-openapi";
import * as z from "zod";

/** Shapes of the operator API (`/pools/{pool}`, `/list`, `/settings`), declared once as in schemas.ts. */

export const PoolParams = z.object({ pool: PoolName });

/** Longer than any cursor this API makes (the longest is about 80 characters). */
export const MAX_CURSOR_LENGTH = 200;

/** What a cursor is made of (base64url); the document says so, and any other text is a 400. */
export const CURSOR_PATTERN = "^[A-Za-z0-9_-]+$";

export const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).openapi({ format: "int64" });

const Seconds = z
  .number()
  .min(MIN_TTL_SECONDS)
  .max(MAX_TTL_SECONDS)
  .openapi({ description: "Seconds; fractions allowed, whole milliseconds are kept.", example: 300 });

const RevealValues = z.enum(REVEAL_VALUES).openapi({
  description:
    "Who GET /keys/{id} shows a key's value to. anyone (the default, the original contract): the value of any " +
    "key that is not blocked, and a blocked key's to its holder. holder: only the holder of the key's block, " +
    "with its KeyPool-Lease-Token; a free key's value to nobody.",
});

const KeysExpire = z.boolean().openapi({
  description:
    "true (the default, the original contract): a key not kept alive for keyTtlSeconds is deleted. false: keys " +
    "live until deleted (expiresAt is null) and keep-alive only records lastActivity; for keys issued by an " +
    "upstream, which must not vanish. Switching it applies to every key at once: switched on, keys without an " +
    "expiry expire keyTtlSeconds after the switch.",
});

const CooldownSeconds = z
  .number()
  .min(0)
  .max(MAX_COOLDOWN_SECONDS)
  .openapi({
    description: `How long a report cools a key down when the upstream gave no wait of its own (default ${DEFAULT_COOLDOWN_SECONDS}; 0 to a day).`,
    example: 60,
  });

const MaxFailures = z
  .number()
  .int()
  .min(1)
  .max(MAX_MAX_FAILURES)
  .openapi({
    description: `Consecutive error reports that cool a key down (default ${DEFAULT_MAX_FAILURES}).`,
    format: "int32",
  });

const LockDelaySeconds = z
  .number()
  .min(0)
  .max(MAX_LOCK_DELAY_SECONDS)
  .openapi({
    description:
      `A block that runs out (its holder never released it) cools its key down this long after its releaseAt (0 to ${MAX_LOCK_DELAY_SECONDS}, ` +
      "default 0), so a stalled holder's late calls reach no new holder; a holder's own release frees it at once.",
  });

const AuditRetentionDays = z
  .number()
  .int()
  .min(0)
  .max(MAX_AUDIT_RETENTION_DAYS)
  .openapi({
    description:
      `Days the pool's audit trail keeps each entry (default ${DEFAULT_AUDIT_RETENTION_DAYS}, up to ${MAX_AUDIT_RETENTION_DAYS}); ` +
      "0: the pool keeps no trail (and the alarm deletes what it had).",
    format: "int32",
  });

export const Settings = exactly<PoolSettings>()(
  z
    .object({
      keyTtlSeconds: Seconds.openapi({ description: "A key expires this long after its last activity." }),
      blockTtlSeconds: Seconds.openapi({ description: "A block is released this long after it started." }),
      revealValues: RevealValues,
      keysExpire: KeysExpire,
      cooldownSeconds: CooldownSeconds,
      maxFailures: MaxFailures,
      lockDelaySeconds: LockDelaySeconds,
      auditRetentionDays: AuditRetentionDays,
    })
    .openapi("PoolSettings"),
);

export const SettingsBody = z
  .strictObject({
    keyTtlSeconds: Seconds.nullable().optional(),
    blockTtlSeconds: Seconds.nullable().optional(),
    revealValues: RevealValues.nullable().optional(),
    keysExpire: KeysExpire.nullable().optional(),
    cooldownSeconds: CooldownSeconds.nullable().optional(),
    maxFailures: MaxFailures.nullable().optional(),
    lockDelaySeconds: LockDelaySeconds.nullable().optional(),
    auditRetentionDays: AuditRetentionDays.nullable().optional(),
  })
  .openapi("UpdatePoolSettings", {
    description:
      "Each field: a value sets it, null goes back to the default (the [vars] for timings), absent leaves it. " +
      "Timings apply to deadlines set from now on (creations, keep-alives, blocks); deadlines already set do " +
      "not move. keysExpire applies to every key at once.",
  });

const Fingerprint = z
  .string()
  .regex(/^[0-9a-f]{8}$/)
  .openapi({
    description:
      "An encryption key's fingerprint: the first 8 hex digits of the SHA-256 of its 32 bytes " +
      '(printf %s "$KEY" | base64 -d | sha256sum | cut -c1-8).',
    example: "4e1f09c2",
    maxLength: 8,
  });

const Encryption = exactly<EncryptionStatus>()(
  z
    .object({
      sealingKey: Fingerprint.nullable().openapi({
        description: "The key new values are sealed under (the first of KEY_ENCRYPTION_KEY); null: none configured.",
      }),
      localDevelopmentKey: z.boolean().openapi({
        description: "The sealing key is the published local development key (npm start): it protects nothing.",
      }),
      values: z
        .array(
          z.object({
            sealedBy: Fingerprint.nullable().openapi({ description: "null: generated values stored unencrypted." }),
            values: Count,
            available: z.boolean().openapi({ description: "false: sealed under a key no longer configured." }),
          }),
        )
        .max(100)
        .openapi({ description: "The stored values by what sealed them, the sealing key's first." }),
      toReseal: Count.openapi({
        description: "Values the alarm is still to seal under the sealing key, in batches; 0 when rotation is done.",
      }),
      unavailable: Count.openapi({
        description: "Values sealed under keys no longer configured: they answer 503 until the key is put back.",
      }),
    })
    .openapi("EncryptionStatus"),
);

/** A pool's keys by state, as `GET /pools/{pool}` and `GET /pools` show them. */
export const KeyCounts = z.object({ total: Count, free: Count, blocked: Count, cooling: Count, disabled: Count });

export const PoolStatsBody = exactly<views.PoolStats & { pool: string }>()(
  z
    .object({
      pool: PoolName,
      keys: KeyCounts.openapi({
        description: "Keys in the pool now, by state: total = free + blocked + cooling + disabled.",
      }),
      counters: z
        .object({
          created: Count,
          assigned: Count,
          released: Count,
          expired: Count,
          deleted: Count,
          cooled: Count,
          disabled: Count,
          reportedOk: Count,
          reportedRateLimited: Count,
          reportedUnauthorized: Count,
          reportedError: Count,
        })
        .openapi({
          description:
            "Events since the pool began: keys created, assigned by GET /keys, released automatically when " +
            "their block ran out, expired, deleted; cooldowns started or extended by reports, keys disabled; " +
            "reports by outcome. Blocks and unblocks by PUT are not counted.",
        }),
      settings: Settings,
      encryption: Encryption,
      waiting: Count.openapi({ description: "Callers waiting for a key now (GET /keys?waitSeconds)." }),
    })
    .openapi("PoolStats"),
);

export const ListQuery = z.strictObject({
  state: z
    .enum(["all", "free", "blocked", "cooling", "disabled"])
    .default("all")
    .openapi({
      description:
        "all and free: ordered by id; blocked: by release time; cooling: by the end of the cooldown; disabled: " +
        "by the time it was disabled. A page of free keys looks through at most " +
        `${FREE_LIST_WINDOW} keys, so it may hold fewer than \`limit\` (even none) while \`cursor\` is not null.`,
    }),
  limit: queryNumber(z.number().int().min(1).max(MAX_LIST_LIMIT))
    .default(DEFAULT_LIST_LIMIT)
    .openapi({ description: "Keys per page.", format: "int32" }),
  cursor: z.string().max(MAX_CURSOR_LENGTH).optional().openapi({
    description: "The `cursor` of the previous page, for the same `state`; absent for the first page.",
    pattern: CURSOR_PATTERN,
  }),
});

export const KeyPageBody = z
  .object({
    keys: z.array(ListedKey).max(MAX_LIST_LIMIT),
    cursor: z
      .string()
      .max(MAX_CURSOR_LENGTH)
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page; null after the last.", pattern: CURSOR_PATTERN }),
  })
  .openapi("KeyPage");
