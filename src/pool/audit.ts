/**
 * The audit trail's entries, as rules: who acted (a role and a fingerprint of the token, never the
 * token), on which key, with which block's fencing number. Pure: no I/O, no clock.
 */

/** Who acted: an admin or client token, or the pool itself (`system`: a deadline passing, the alarm). */
export type AuditRole = "admin" | "client" | "system";

export interface Actor {
  readonly role: AuditRole;
  /**
   * A short keyed fingerprint of the token that acted (12 hex digits of an HMAC under a key the
   * deployment keeps secret, so the trail alone lets nobody test guesses of a token); null for the
   * pool itself, and for calls made without a token (the local mode, or an RPC caller).
   */
  readonly token: string | null;
}

/** The pool acting on its own: a block running out, a key expiring. */
export const SYSTEM: Actor = { role: "system", token: null };
/** An operator acting through the object's RPC surface with no token to show (tests, scripts). */
export const UNNAMED_ADMIN: Actor = { role: "admin", token: null };

/** Every state change the trail records. */
export const AUDIT_EVENTS = [
  "pool_created",
  "created",
  "imported",
  "assigned",
  "blocked",
  "renewed",
  "unblocked",
  "released",
  "reported",
  "cooled",
  "disabled",
  "enabled",
  "expired",
  "deleted",
  "settings_changed",
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/** An entry's details: flat fields of plain values. */
export type AuditDetail = Readonly<Record<string, string | number | boolean>>;

/** One change as the pool records it; the store gives it its time and sequence number. */
export interface AuditChange {
  readonly event: AuditEvent;
  readonly keyId: string | null;
  /** The fencing number of the block the change started, renewed, reported on or ended. */
  readonly lease: number | null;
  /** A report's outcome. */
  readonly outcome: string | null;
  readonly actor: Actor;
  /** What else an entry says: a block's releaseAt, a cooldown's end, the settings in force. */
  readonly detail: AuditDetail | null;
}

/** An entry as stored and answered. */
export interface AuditEntry extends AuditChange {
  readonly seq: number;
  readonly at: number;
}

/** Where a page of the trail starts: after the entry at `at` with sequence number `seq`, going back in time. */
export interface AuditPosition {
  readonly at: number;
  readonly seq: number;
}

/** Which entries a page shows, newest first: of one key, from `since` (inclusive) to `until` (exclusive). */
export interface AuditFilter {
  readonly keyId?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  readonly after?: AuditPosition | undefined;
  readonly limit: number;
}

/** The most entries one page of the trail holds, and how many unless asked. */
export const MAX_AUDIT_PAGE = 500;
export const DEFAULT_AUDIT_PAGE = 100;
