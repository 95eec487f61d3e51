import type { CountedSql } from "./sql";

/**
 * The `pool_meta` row beside the schema version: `sealed_with`, the encryption key (by fingerprint)
 * every stored value was last found sealed under, or NULL when some may be sealed otherwise or stored
 * as they are. An object compares it with its sealing key when it starts, so it knows without reading
 * any key whether values wait to be sealed anew.
 */
export class PoolMetaStore {
  constructor(private readonly db: CountedSql) {}

  sealedWith(): string | null {
    const [row] = this.db.run<{ sealed_with: string | null }>("SELECT sealed_with FROM pool_meta WHERE id = 1");
    return row?.sealed_with ?? null;
  }

  setSealedWith(fingerprint: string | null): void {
    this.db.run("UPDATE pool_meta SET sealed_with = ? WHERE id = 1 AND sealed_with IS NOT ?", fingerprint, fingerprint);
  }
}
