import { NO_OVERRIDES, type RevealValues, type SettingsOverrides } from "../pool/settings";
import type { CountedSql } from "./sql";

type SettingsRow = {
  key_ttl_ms: number | null;
  block_ttl_ms: number | null;
  reveal_values: RevealValues | null;
  keys_expire: number | null;
  expiry_switched_at: number | null;
};

/** The `pool_settings` row: what an operator set for this pool; no row (or NULL) means the default. */
export class PoolSettingsStore {
  constructor(private readonly db: CountedSql) {}

  read(): SettingsOverrides {
    const [row] = this.db.run<SettingsRow>(
      "SELECT key_ttl_ms, block_ttl_ms, reveal_values, keys_expire, expiry_switched_at FROM pool_settings WHERE id = 1",
    );
    if (row === undefined) return NO_OVERRIDES;
    return {
      keyTtlMs: row.key_ttl_ms,
      blockTtlMs: row.block_ttl_ms,
      revealValues: row.reveal_values,
      keysExpire: row.keys_expire === null ? null : row.keys_expire === 1,
      expirySwitchedAt: row.expiry_switched_at,
    };
  }

  write(overrides: SettingsOverrides): void {
    this.db.run(
      `INSERT INTO pool_settings (id, key_ttl_ms, block_ttl_ms, reveal_values, keys_expire, expiry_switched_at)
       VALUES (1, ?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (id) DO UPDATE SET key_ttl_ms = ?1, block_ttl_ms = ?2, reveal_values = ?3, keys_expire = ?4,
         expiry_switched_at = ?5`,
      overrides.keyTtlMs,
      overrides.blockTtlMs,
      overrides.revealValues,
      overrides.keysExpire === null ? null : Number(overrides.keysExpire),
      overrides.expirySwitchedAt,
    );
  }
}
