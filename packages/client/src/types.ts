/**
 * The API's request and answer shapes, written out so the package's .d.ts stands alone (no zod, no
 * server code). They are not a second source of truth: test/client/types-agree.ts makes `npm run
 * check` fail unless each is exactly the type the server's own zod schemas infer.
 */

/** Where a key's value came from: a UUID the pool generated, or a value an admin imported. */
export type KeySource = "generated" | "imported";

/**
 * free: the next assignment may hand it out. blocked: a holder has it. cooling: not handed out before
 * `coolingUntil` (a reported 429, repeated errors, or a lock-delay). disabled: not handed out until an
 * admin enables it (a reported 401/403, or an admin).
 */
export type KeyState = "free" | "blocked" | "cooling" | "disabled";

/** What the upstream answered the holder of a key: `POST /keys/{id}/report`. */
export type ReportOutcome = "ok" | "rate_limited" | "unauthorized" | "error";

/** A key's state and deadlines (`GET /keys/{id}/info`); never its value. Times are ISO-8601 UTC. */
export interface KeyInfo {
  isBlocked: boolean;
  createdAt: string;
  /** Null in a pool whose keys do not expire (`keysExpire: false`). */
  expiresAt: string | null;
  lastActivity: string;
  blockedAt: string | null;
  releaseAt: string | null;
  source: KeySource;
  label: string | null;
  /** The last 4 characters of an imported value, to tell keys apart; null for a generated key or a short value. */
  hint: string | null;
  state: KeyState;
  /** When its cooldown ends, while it is cooling. */
  coolingUntil: string | null;
  /** Consecutive error reports since its last ok (or the cooldown they started). */
  failures: number;
  lastOutcome: ReportOutcome | null;
  lastReportAt: string | null;
}

/**
 * A key's info after `PUT /keys/{id}`; `lease` when this call blocked or renewed it, and `leaseToken`
 * (the new block's holder secret) when it started the block.
 */
export interface BlockResult extends KeyInfo {
  lease?: number | undefined;
  leaseToken?: string | undefined;
}

export interface Created {
  keyId: string;
}

export interface CreatedMany {
  keyIds: string[];
}

/**
 * A key assigned to you and blocked for everyone else. Its value and `leaseToken` (the secret that
 * proves you hold it, sent back as the `KeyPool-Lease-Token` header) are secrets; `lease` is the
 * block's fencing number, for upstream services.
 */
export interface Assignment {
  keyId: string;
  key: string;
  lease: number;
  releaseAt: string;
  leaseToken: string;
}

export interface KeyValue {
  keyId: string;
  key: string;
}

export interface Deleted {
  keyId: string;
  deleted: true;
}

/**
 * `PUT /keys/{id}`: either `blocked` (with an optional `lease`) or, for an admin, `label` alone (null
 * removes it) or `disabled` alone.
 */
export interface UpdateBody {
  blocked?: boolean | undefined;
  lease?: number | undefined;
  label?: string | null | undefined;
  disabled?: boolean | undefined;
}

/**
 * `POST /keys/{id}/report`: what the upstream answered. `retryAfterSeconds` (0 to a day) is the
 * upstream's own wait; `release` with ok releases the key.
 */
export interface ReportBody {
  outcome: ReportOutcome;
  retryAfterSeconds?: number | undefined;
  release?: boolean | undefined;
}

/** One value to import: the secret as the upstream issued it, and an optional label (1-128 characters). */
export interface ImportEntry {
  key: string;
  label?: string | undefined;
}

/** `POST /keys`: `count` generated keys (with one `label`), or the values of `keys` alone. */
export interface CreateBody {
  count?: number | undefined;
  label?: string | undefined;
  keys?: ImportEntry[] | undefined;
}

/** Where an input was wrong and why; `keyId` names the key a problem is about (the one already holding a value). */
export interface Problem {
  path: string;
  message: string;
  keyId?: string | undefined;
}

/** Every error answer's body. */
export interface ErrorBody {
  error: string;
  details?: Problem[] | undefined;
  /** When no key was free: whole seconds until one may be (as `Retry-After`), when the pool knows. */
  retryAfterSeconds?: number | undefined;
}

/** Who `GET /keys/{id}` shows a key's value to: anyone (while it is free) or only its holder. */
export type RevealValues = "anyone" | "holder";

export interface PoolSettings {
  keyTtlSeconds: number;
  blockTtlSeconds: number;
  revealValues: RevealValues;
  /** false: keys live until deleted (`expiresAt` is null). */
  keysExpire: boolean;
  /** How long a report cools a key when the upstream gave no wait of its own. */
  cooldownSeconds: number;
  /** Consecutive error reports that cool a key down. */
  maxFailures: number;
  /** A block that runs out cools its key this long after `releaseAt`. */
  lockDelaySeconds: number;
  /** Days the audit trail keeps its entries (0: no trail). */
  auditRetentionDays: number;
}

/** A change of settings: a value sets it, `null` restores the default, absent leaves it. */
export interface SettingsPatch {
  keyTtlSeconds?: number | null | undefined;
  blockTtlSeconds?: number | null | undefined;
  revealValues?: RevealValues | null | undefined;
  keysExpire?: boolean | null | undefined;
  cooldownSeconds?: number | null | undefined;
  maxFailures?: number | null | undefined;
  lockDelaySeconds?: number | null | undefined;
  auditRetentionDays?: number | null | undefined;
}

/** Stored values sealed by one encryption key (by fingerprint; null: generated values stored as they are). */
export interface SealedValues {
  sealedBy: string | null;
  values: number;
  /** false: sealed under a key the server no longer has. */
  available: boolean;
}

/** What a pool reports of its encryption keys (`GET /pools/{pool}`), never the keys themselves. */
export interface EncryptionStatus {
  /** The fingerprint of the key new values are sealed under; null when none is configured. */
  sealingKey: string | null;
  /** The sealing key is the published local development key: it protects nothing. */
  localDevelopmentKey: boolean;
  values: SealedValues[];
  /** Values still to be sealed again under the sealing key (0 when a rotation is done). */
  toReseal: number;
  /** Values sealed under keys no longer configured: they answer 503 until the key is put back. */
  unavailable: number;
}

export interface PoolStats {
  pool: string;
  keys: { total: number; free: number; blocked: number; cooling: number; disabled: number };
  counters: {
    created: number;
    assigned: number;
    released: number;
    expired: number;
    deleted: number;
    cooled: number;
    disabled: number;
    reportedOk: number;
    reportedRateLimited: number;
    reportedUnauthorized: number;
    reportedError: number;
  };
  settings: PoolSettings;
  encryption: EncryptionStatus;
  /** Callers waiting for a key now. */
  waiting: number;
}

/** A pool of `GET /pools`: its keys by state and its waiting callers; both null when it did not answer. */
export interface ListedPool {
  pool: string;
  keys: PoolStats["keys"] | null;
  waiting: number | null;
}

export interface PoolPage {
  pools: ListedPool[];
  /** Pass as `cursor` for the next page; null after the last. */
  cursor: string | null;
}

/** `GET /pools`'s and `GET /metrics`'s query: how many pools, after which cursor. */
export interface PoolListQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** `GET /pools/{pool}/list`'s query; sent as text, read as these types. */
export interface ListQuery {
  state?: "all" | KeyState | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Who made an audit entry: a token's role and keyed fingerprint (never the token), or the pool itself. */
export interface AuditActor {
  role: "admin" | "client" | "system";
  token: string | null;
}

/** One change in a pool's audit trail (`GET /pools/{pool}/audit`). */
export interface AuditEntry {
  seq: number;
  at: string;
  event:
    | "pool_created"
    | "created"
    | "imported"
    | "assigned"
    | "blocked"
    | "renewed"
    | "unblocked"
    | "released"
    | "reported"
    | "cooled"
    | "disabled"
    | "enabled"
    | "expired"
    | "deleted"
    | "settings_changed";
  keyId: string | null;
  lease: number | null;
  outcome: ReportOutcome | null;
  actor: AuditActor;
  /** releaseAt of a block started or renewed, coolingUntil of a cooldown, the settings after a change. */
  detail: Record<string, string | number | boolean> | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `after` for the next (older) page; null after the last. */
  cursor: string | null;
}

/** `GET /pools/{pool}/audit`'s query: one key's history, a time range (ISO-8601), a page after a cursor. */
export interface AuditQuery {
  keyId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  after?: string | undefined;
  limit?: number | undefined;
}

export interface ListedKey extends KeyInfo {
  keyId: string;
}

export interface KeyPage {
  keys: ListedKey[];
  cursor: string | null;
}
