import { AUDIT_EVENTS, type AuditEntry, DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE } from "../pool/audit";
import { REPORT_OUTCOMES } from "../pool/rules";
import { CURSOR_PATTERN, MAX_CURSOR_LENGTH } from "./pool-schemas";
import { KeyId, Lease, queryNumber, Timestamp, Uuid } from "./schemas";
import "./zod-openapi";
import * as z from "zod";

/** Shapes of `GET /pools/{pool}/audit`, declared once as in schemas.ts. */

/** The longest ISO-8601 time taken: nanoseconds and an offset (`2026-11-25T14:02:00.123456789+05:30`). */
const MAX_TIME_LENGTH = 35;

const Since = z.iso.datetime({ offset: true }).max(MAX_TIME_LENGTH).openapi({
  description: "Entries at or after this time (ISO-8601, with Z or an offset).",
  example: "2026-11-25T14:02:00Z",
});

export const AuditQuery = z.strictObject({
  keyId: KeyId.optional().openapi({ description: "One key's entries only: its history." }),
  since: Since.optional(),
  until: Since.optional().openapi({
    description: "Entries before this time (ISO-8601, with Z or an offset).",
    example: "2026-11-25T14:09:00Z",
  }),
  after: z.string().max(MAX_CURSOR_LENGTH).optional().openapi({
    description: "The `cursor` of the previous page (the same filters); absent for the newest entries.",
    pattern: CURSOR_PATTERN,
  }),
  limit: queryNumber(z.number().int().min(1).max(MAX_AUDIT_PAGE))
    .default(DEFAULT_AUDIT_PAGE)
    .openapi({ description: `Entries per page (1 to ${MAX_AUDIT_PAGE}).`, example: 50, format: "int32" }),
});

const Actor = z
  .object({
    role: z.enum(["admin", "client", "system"]).openapi({
      description: "admin or client: a token of that role; system: the pool itself (a deadline passing).",
    }),
    token: z
      .string()
      .length(12)
      .regex(/^[0-9a-f]{12}$/)
      .nullable()
      .openapi({
        description:
          "A keyed fingerprint of the token that acted (12 hex digits): the same token shows the same " +
          "fingerprint, and it cannot be used to test guesses of a token. Null for system.",
        example: "3f9a0c51d2e7",
      }),
  })
  .openapi("AuditActor");

export const AuditEntryBody = z
  .object({
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).openapi({
      description: "The entry's sequence number in this pool: grows by one with every entry.",
      format: "int64",
    }),
    at: Timestamp,
    event: z.enum(AUDIT_EVENTS),
    keyId: Uuid.nullable().openapi({ description: "The key it is about; null for the pool's own events." }),
    lease: Lease.nullable().openapi({
      description: "The fencing number of the block it started, renewed, reported on or ended (never its secret).",
    }),
    outcome: z
      .enum(REPORT_OUTCOMES)
      .nullable()
      .openapi({
        description:
          "The outcome of the report the change came of: a report is one entry, the change it made (unblocked, " +
          "cooled, disabled), or reported when it changed nothing but the key's counts. Null for any other change.",
      }),
    actor: Actor,
    detail: z
      .record(
        z.string().max(40),
        z.union([
          z
            .string()
            .max(100)
            .regex(/^[\w:.+-]*$/),
          z.number(),
          z.boolean(),
        ]),
      )
      .nullable()
      .openapi({
        description:
          "What else it says: releaseAt of a block started or renewed, coolingUntil of a cooldown, the " +
          "settings in force after a change.",
      }),
  })
  .openapi("AuditEntry");

/** An entry as answered: times as ISO-8601 text. */
export function auditEntryBody(entry: AuditEntry): z.infer<typeof AuditEntryBody> {
  return {
    ...entry,
    at: new Date(entry.at).toISOString(),
    outcome: entry.outcome as z.infer<typeof AuditEntryBody>["outcome"],
  };
}

export const AuditPageBody = z
  .object({
    entries: z.array(AuditEntryBody).max(MAX_AUDIT_PAGE),
    cursor: z.string().max(MAX_CURSOR_LENGTH).nullable().openapi({
      description: "Pass as `after` for the next (older) page; null after the last.",
      pattern: CURSOR_PATTERN,
    }),
  })
  .openapi("AuditPage");
