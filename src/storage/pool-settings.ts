import { NO_OVERRIDES, type RevealValues, type SettingsOverrides } from "../pool/settings";
import type { CountedSql } from "./sql";

type SettingsRow = {
  key_ttl_ms: number | null;
  block_ttl_ms: number | null;
  reveal_values: RevealValues | null;
  keys_expire: number | null;
  expiry_switched_at: number | null;
  cooldown_ms: number | null;
  max_failures: number | null;
  lock_delay_ms: number | null;
  audit_retention_days: number | null;
};

const COLUMNS =
  "key_ttl_ms, block_ttl_ms, reveal_values, keys_expire, expiry_switched_at, cooldown_ms, max_failures, lock_delay_ms, audit_retention_days";

/** The `pool_settings` row: what an operator set for this pool; no row (or NULL) means the default. */
export class PoolSettingsStore {
  constructor(private readonly db: CountedSql) {}

  read(): SettingsOverrides {
    const [row] = this.db.run<SettingsRow>(`SELECT ${COLUMNS} FROM pool_settings WHERE id = 1`);
    if (row === undefined) return NO_OVERRIDES;
    return {
      keyTtlMs: row.key_ttl_ms,
      blockTtlMs: row.block_ttl_ms,
      revealValues: row.reveal_values,
      keysExpire: row.keys_expire === null ? null : row.keys_expire === 1,
      expirySwitchedAt: row.expiry_switched_at,
      cooldownMs: row.cooldown_ms,
      maxFailures: row.max_failures,
      lockDelayMs: row.lock_delay_ms,
      auditRetentionDays: row.audit_retention_days,
    };
  }

  write(o: SettingsOverrides): void {
    this.db.run(
      `INSERT OR REPLACE INTO pool_settings (id, ${COLUMNS}) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      o.keyTtlMs,
      o.blockTtlMs,
      o.revealValues,
      o.keysExpire === null ? null : Number(o.keysExpire),
      o.expirySwitchedAt,
      o.cooldownMs,
      o.maxFailures,
      o.lockDelayMs,
      o.auditRetentionDays,
    );
  }
}
