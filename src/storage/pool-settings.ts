import { NO_OVERRIDES, type RevealValues, type SettingsOverrides } from "../pool/settings";
import type { CountedSql } from "./sql";

type SettingsRow = { key_ttl_ms: number | null; block_ttl_ms: number | null; reveal_values: RevealValues | null };

/** The `pool_settings` row: what an operator set for this pool; no row (or NULL) means the default. */
export class PoolSettingsStore {
  constructor(private readonly db: CountedSql) {}

  read(): SettingsOverrides {
    const [row] = this.db.run<SettingsRow>(
      "SELECT key_ttl_ms, block_ttl_ms, reveal_values FROM pool_settings WHERE id = 1",
    );
    if (row === undefined) return NO_OVERRIDES;
    return { keyTtlMs: row.key_ttl_ms, blockTtlMs: row.block_ttl_ms, revealValues: row.reveal_values };
  }

  write(overrides: SettingsOverrides): void {
    this.db.run(
      `INSERT INTO pool_settings (id, key_ttl_ms, block_ttl_ms, reveal_values) VALUES (1, ?1, ?2, ?3)
       ON CONFLICT (id) DO UPDATE SET key_ttl_ms = ?1, block_ttl_ms = ?2, reveal_values = ?3`,
      overrides.keyTtlMs,
      overrides.blockTtlMs,
      overrides.revealValues,
    );
  }
}
