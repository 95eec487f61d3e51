import { NO_OVERRIDES, type TimingOverrides } from "../pool/settings";
import type { CountedSql } from "./sql";

/** The `pool_settings` row: the timings an operator set for this pool; no row means none. */
export class PoolSettingsStore {
  constructor(private readonly db: CountedSql) {}

  read(): TimingOverrides {
    const [row] = this.db.run<{ key_ttl_ms: number | null; block_ttl_ms: number | null }>(
      "SELECT key_ttl_ms, block_ttl_ms FROM pool_settings WHERE id = 1",
    );
    return row === undefined ? NO_OVERRIDES : { keyTtlMs: row.key_ttl_ms, blockTtlMs: row.block_ttl_ms };
  }

  write(overrides: TimingOverrides): void {
    this.db.run(
      `INSERT INTO pool_settings (id, key_ttl_ms, block_ttl_ms) VALUES (1, ?1, ?2)
       ON CONFLICT (id) DO UPDATE SET key_ttl_ms = ?1, block_ttl_ms = ?2`,
      overrides.keyTtlMs,
      overrides.blockTtlMs,
    );
  }
}
