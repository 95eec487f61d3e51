/**
 * What a pool knows of its encryption keys (KEY_ENCRYPTION_KEY, by fingerprint) and what it reports
 * of them in `GET /pools/{pool}`: which key seals new values, and how many stored values each key
 * sealed, so an operator rotating keys sees when the old one is no longer needed.
 */

/** The keys a pool may use, by fingerprint. */
export interface Vault {
  /** The key new values are sealed under, or null when none is configured. */
  readonly sealing: string | null;
  /** Every key a stored value can be opened with. */
  readonly opens: ReadonlySet<string>;
  /** The sealing key is the published local development key, which protects nothing. */
  readonly local: boolean;
}

/** Stored values sealed by one key (`sealedBy`), or stored as they are (`sealedBy: null`). */
export interface SealedValues {
  readonly sealedBy: string | null;
  readonly values: number;
  /** Whether they can be opened: stored as they are, or sealed by a key still configured. */
  readonly available: boolean;
}

/** The `encryption` part of `GET /pools/{pool}`. */
export interface EncryptionStatus {
  readonly sealingKey: string | null;
  readonly localDevelopmentKey: boolean;
  /** Every stored value by what sealed it, the sealing key's first. */
  readonly values: SealedValues[];
  /** Values the alarm is still to seal under the sealing key (those it can open). */
  readonly toReseal: number;
  /** Values sealed by a key no longer configured: they answer 503 until it is put back. */
  readonly unavailable: number;
}

/** Whether a value stored sealed by `sealedBy` can be opened. */
export function canOpen(vault: Vault, sealedBy: string | null): boolean {
  return sealedBy === null || vault.opens.has(sealedBy);
}

export function encryptionStatus(vault: Vault, sealed: ReadonlyMap<string | null, number>): EncryptionStatus {
  const values = [...sealed]
    .map(([sealedBy, count]) => ({ sealedBy, values: count, available: canOpen(vault, sealedBy) }))
    .sort((a, b) => Number(b.sealedBy === vault.sealing) - Number(a.sealedBy === vault.sealing));
  let toReseal = 0;
  let unavailable = 0;
  for (const entry of values) {
    if (!entry.available) unavailable += entry.values;
    else if (vault.sealing !== null && entry.sealedBy !== vault.sealing) toReseal += entry.values;
  }
  return { sealingKey: vault.sealing, localDevelopmentKey: vault.local, values, toReseal, unavailable };
}
