import { BlobSet } from "./blob-set";
import type { CountedSql } from "./sql";

/**
 * What the object keeps in memory about its keys, so that a change of a key writes the key's row and
 * nothing else: the free keys (for a uniform pick), the imported values' fingerprints (to find a value
 * imported twice), the sums of what the rows count, and how many values each encryption key sealed. Built with one scan of `keys` the first time it is needed after
 * the object starts, and kept in step with every change after that; SQLite stays the truth, and the
 * object drops it when a transaction fails.
 */
export class KeySummary {
  /** Keys with no block stored (`release_at IS NULL`). */
  readonly free = new BlobSet();
  /**
   * The `fingerprint` of every imported key, each with the key's id: an index of its own in SQLite
   * would write a row more per import and, on its random keys, cost a fifth of an import's CPU.
   */
  readonly imported = new BlobSet(16);
  /** Sums of the keys' `assignments` and `releases` columns. */
  assignments = 0;
  releases = 0;
  /** The largest lease ever handed out: the keys' own, and `pool_stats.lease_floor` for keys gone. */
  lease = 0;
  /** How many values each encryption key (by fingerprint) sealed; `null` counts values stored as they are. */
  readonly sealed = new Map<string | null, number>();

  /** Reads every key once; `leaseFloor` is the largest lease of the keys no longer stored. */
  static scan(db: CountedSql, leaseFloor: number): KeySummary {
    const summary = new KeySummary();
    summary.lease = leaseFloor;
    const rows = db.scan("SELECT id, release_at, lease, assignments, releases, sealed_by, fingerprint FROM keys");
    for (const [id, releaseAt, lease, assignments, releases, sealedBy, fingerprint] of rows) {
      if (releaseAt === null) summary.free.add(new Uint8Array(id as ArrayBuffer));
      if (fingerprint !== null)
        summary.imported.add(new Uint8Array(fingerprint as ArrayBuffer), new Uint8Array(id as ArrayBuffer));
      summary.assignments += assignments as number;
      summary.releases += releases as number;
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
