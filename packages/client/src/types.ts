/**
 * The API's request and answer shapes, written out so the package's .d.ts stands alone (no zod, no
 * server code). They are not a second source of truth: test/client/types-agree.ts makes `npm run
 * check` fail unless each is exactly the type the server's own zod schemas infer.
 */

/** A key's state and deadlines (`GET /keys/{id}/info`); never its value. Times are ISO-8601 UTC. */
export interface KeyInfo {
  isBlocked: boolean;
  createdAt: string;
  expiresAt: string;
  lastActivity: string;
  blockedAt: string | null;
  releaseAt: string | null;
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

export interface UpdateBody {
  blocked: boolean;
  lease?: number | undefined;
}

export interface CreateBody {
  count?: number | undefined;
}

/** Where an input was wrong and why. */
export interface Problem {
  path: string;
  message: string;
}

/** Every error answer's body. */
export interface ErrorBody {
  error: string;
  details?: Problem[] | undefined;
}

/** Who `GET /keys/{id}` shows a key's value to: anyone (while it is free) or only its holder. */
export type RevealValues = "anyone" | "holder";

export interface PoolSettings {
  keyTtlSeconds: number;
  blockTtlSeconds: number;
  revealValues: RevealValues;
}

/** A change of settings: a value sets it, `null` restores the default, absent leaves it. */
export interface SettingsPatch {
  keyTtlSeconds?: number | null | undefined;
  blockTtlSeconds?: number | null | undefined;
  revealValues?: RevealValues | null | undefined;
}

export interface PoolStats {
  pool: string;
  keys: { total: number; free: number; blocked: number };
  counters: { created: number; assigned: number; released: number; expired: number; deleted: number };
  settings: PoolSettings;
}

/** `GET /pools/{pool}/list`'s query; sent as text, read as these types. */
export interface ListQuery {
  state?: "all" | "free" | "blocked" | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface ListedKey extends KeyInfo {
  keyId: string;
}

export interface KeyPage {
  keys: ListedKey[];
  cursor: string | null;
}
