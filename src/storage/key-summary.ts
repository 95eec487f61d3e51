import { KEY_COUNTED, type KeyCounted } from "../pool/events";
import { BlobSet } from "./blob-set";
import { type KeyCounts, noKeyCounts } from "./pool-stats";
import type { CountedSql } from "./sql";

/**
 * What the object keeps in memory about its keys, so that a change of a key writes the key's row and
 * nothing else: the free keys (for a uniform pick), the imported values' fingerprints (to find a value
 * imported twice), how many keys cool down or are disabled, the sums of what the rows count, and how
 * many values each encryption key sealed. Built with one scan of `keys` the first time it is needed
 * after the object starts, and kept in step with every change after that; SQLite stays the truth, and
 * the object drops it when a transaction fails.
 */
export class KeySummary {
  /** Keys that may be handed out: no block stored, no cooldown, not disabled. */
  readonly free = new BlobSet();
  /**
   * The `fingerprint` of every imported key, each with the key's id: an index of its own in SQLite
   * would write a row more per import and, on its random keys, cost a fifth of an import's CPU.
   */
  readonly imported = new BlobSet(16);
  /** Keys with a cooldown stored (ended or not), and disabled keys. */
  cooling = 0;
  disabled = 0;
  /** Sums of what the keys' rows count (`KEY_COUNTED`). */
  readonly counted: KeyCounts = noKeyCounts();
  /** The largest lease ever handed out: the keys' own, and `pool_stats.lease_floor` for keys gone. */
  lease = 0;
  /** How many values each encryption key (by fingerprint) sealed; `null` counts values stored as they are. */
  readonly sealed = new Map<string | null, number>();

  /** Reads every key once; `leaseFloor` is the largest lease of the keys no longer stored. */
  static scan(db: CountedSql, leaseFloor: number): KeySummary {
    const summary = new KeySummary();
    summary.lease = leaseFloor;
    const names = Object.keys(KEY_COUNTED) as KeyCounted[];
    const rows = db.scan(
      `SELECT id, release_at, cooling_until, disabled_at, lease, sealed_by, fingerprint,
              ${names.map((name) => KEY_COUNTED[name]).join(", ")} FROM keys`,
    );
    for (const [id, releaseAt, coolingUntil, disabledAt, lease, sealedBy, fingerprint, ...counts] of rows) {
      const bytes = new Uint8Array(id as ArrayBuffer);
      if (releaseAt === null && coolingUntil === null && disabledAt === null) summary.free.add(bytes);
      if (coolingUntil !== null) summary.cooling++;
      if (disabledAt !== null) summary.disabled++;
      if (fingerprint !== null) summary.imported.add(new Uint8Array(fingerprint as ArrayBuffer), bytes);
      names.forEach((name, i) => {
        summary.counted[name] += counts[i] as number;
      });
      if (typeof lease === "number" && lease > summary.lease) summary.lease = lease;
      summary.countSealed(sealedBy as string | null, 1);
    }
    return summary;
  }

  /** `count` more (or, negative, fewer) values sealed by `sealedBy`. */
  countSealed(sealedBy: string | null, count: number): void {
    const now = (this.sealed.get(sealedBy) ?? 0) + count;
    if (now === 0) this.sealed.delete(sealedBy);
    else this.sealed.set(sealedBy, now);
  }
}
