/**
 * The pool's SQLite layout, versioned (docs/storage-schema.md has each version). The version lives in
 * `pool_meta.schema_version`; an object brings its database up to SCHEMA_VERSION before it serves
 * anything, running every step it lacks, in order, in one transaction, so an upgrade either completes
 * or leaves the database at its old version. A database newer than this code is refused.
 *
 * A step is never edited once released: a deployed pool holds data written by it. A change of layout
 * is a new step at the end, with a test that upgrades a database built by the step before.
 */
import type { CountedSql } from "./sql";

export interface Migration {
  /** The version the database has once this step has run. */
  readonly version: number;
  readonly statements: readonly string[];
}

/**
 * Version 1: the layout KeyPool had before versioned migrations, whose code ran these statements on
 * every start. They are all idempotent, which matters: a pool of that code that was created before
 * its `pool_stats`, `pool_settings` or `idempotency` table existed gets them from running the step
 * again (see `migrate`), and one that has them is left as it is.
 */
const V1: Migration = {
  version: 1,
  statements: [
    `CREATE TABLE IF NOT EXISTS pool_meta (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       schema_version INTEGER NOT NULL,
       free_count INTEGER NOT NULL,
       lease_seq INTEGER NOT NULL
     )`,
    "INSERT OR IGNORE INTO pool_meta (id, schema_version, free_count, lease_seq) VALUES (1, 1, 0, 0)",
    `CREATE TABLE IF NOT EXISTS keys (
       id BLOB PRIMARY KEY NOT NULL,
       secret BLOB NOT NULL,
       created_at INTEGER NOT NULL,
       last_activity INTEGER NOT NULL,
       expires_at INTEGER NOT NULL,
       blocked_at INTEGER,
       release_at INTEGER,
       lease INTEGER,
       free_slot INTEGER
     ) WITHOUT ROWID`,
    // Due expiries, oldest first, and the earliest one for the alarm.
    "CREATE INDEX IF NOT EXISTS keys_by_expiry ON keys (expires_at)",
    // Due releases; only blocked keys have an entry.
    "CREATE INDEX IF NOT EXISTS keys_by_release ON keys (release_at) WHERE release_at IS NOT NULL",
    // Free keys hold the dense slots 0..free_count-1, so a uniform random pick is one index probe.
    "CREATE UNIQUE INDEX IF NOT EXISTS keys_by_free_slot ON keys (free_slot) WHERE free_slot IS NOT NULL",
    // Operator statistics: the live key count and event counters, kept as keys change so reading them
    // is one row. A pool that predates this table is counted once, here.
    `CREATE TABLE IF NOT EXISTS pool_stats (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       total INTEGER NOT NULL,
       created INTEGER NOT NULL,
       assigned INTEGER NOT NULL,
       released INTEGER NOT NULL,
       expired INTEGER NOT NULL,
       deleted INTEGER NOT NULL
     )`,
    `INSERT INTO pool_stats (id, total, created, assigned, released, expired, deleted)
     SELECT 1, (SELECT count(*) FROM keys), 0, 0, 0, 0, 0
     WHERE NOT EXISTS (SELECT 1 FROM pool_stats WHERE id = 1)`,
    // Per-pool timings set with PUT /pools/{pool}/settings; NULL (or no row) means the [vars] default.
    `CREATE TABLE IF NOT EXISTS pool_settings (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       key_ttl_ms INTEGER,
       block_ttl_ms INTEGER
     )`,
    // Answers kept for `Idempotency-Key` replays: digests, not requests, so an entry stays small.
    `CREATE TABLE IF NOT EXISTS idempotency (
       key_hash BLOB PRIMARY KEY NOT NULL,
       request_hash BLOB NOT NULL,
       expires_at INTEGER NOT NULL,
       outcome TEXT NOT NULL
     ) WITHOUT ROWID`,
    // Due entries, oldest first, and the earliest one for the alarm.
    "CREATE INDEX IF NOT EXISTS idempotency_by_expiry ON idempotency (expires_at)",
  ],
};

/**
 * Version 2: a third of the rows written per operation. The free-slot array (a column and a unique
 * index that moved a second key on every assignment) goes: the object keeps its free keys in memory,
 * rebuilt from `release_at IS NULL` when it starts. What a pool-wide row counted on every change is
 * counted on the key's own row instead (`assignments`, `releases`, and `lease` kept after its block
 * ends) and folded into `pool_stats` when the key leaves, together with its lease (`lease_floor`).
 * Dropping a column rewrites the table once: one row written per key, at the upgrade.
 */
const V2: Migration = {
  version: 2,
  statements: [
    "DROP INDEX keys_by_free_slot",
    "ALTER TABLE keys DROP COLUMN free_slot",
    "ALTER TABLE keys ADD COLUMN assignments INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE keys ADD COLUMN releases INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pool_stats ADD COLUMN lease_floor INTEGER NOT NULL DEFAULT 0",
    "UPDATE pool_stats SET lease_floor = (SELECT lease_seq FROM pool_meta WHERE id = 1) WHERE id = 1",
    "ALTER TABLE pool_meta DROP COLUMN free_count",
    "ALTER TABLE pool_meta DROP COLUMN lease_seq",
  ],
};

/**
 * Version 3: holder proof. A block keeps the SHA-256 of its holder's secret (`holder`, set with the
 * block and cleared with it: no row more is written), and a pool may show key values to their holder
 * only (`reveal_values`). Idempotency entries of earlier versions go: they were shared by every
 * caller of the pool and held key values, and the keys they were stored under can no longer be
 * asked for (a key now belongs to the token that used it), so a retry across the upgrade is a new call.
 * Blocks that exist when this runs have no secret: until they end by themselves, only an admin can
 * end or renew them early.
 */
const V3: Migration = {
  version: 3,
  statements: [
    "ALTER TABLE keys ADD COLUMN holder BLOB",
    "ALTER TABLE pool_settings ADD COLUMN reveal_values TEXT",
    "DELETE FROM idempotency",
  ],
};

/**
 * Version 4: keys brought from elsewhere, encrypted at rest. A value may now be sealed (AES-256-GCM)
 * in `secret`, under the encryption key whose fingerprint `sealed_by` holds (NULL: a generated key's
 * 16 bytes as they are, as every version before stored them). An imported key has the keyed
 * fingerprint of its value (`fingerprint`) and a `hint`; any key may have a `label`. The object finds
 * a fingerprint in memory, rebuilt by the scan that rebuilds its free keys: an index would write one
 * more row per import. `pool_meta.sealed_with` names the key every value was last found sealed under,
 * so an object knows when it starts whether values wait to be (re-)sealed. A pool may keep its keys
 * for ever (`keys_expire = 0`): `expires_at` is NOT NULL since version 1, so such a key's expiry is
 * stored as 2^53 - 1 (NO_EXPIRY, src/storage/key-rows.ts), beyond every deadline. Idempotency answers
 * kept from before lose the key values they held: a replay reads the value from the key itself.
 */
const V4: Migration = {
  version: 4,
  statements: [
    "ALTER TABLE keys ADD COLUMN sealed_by TEXT",
    "ALTER TABLE keys ADD COLUMN fingerprint BLOB",
    "ALTER TABLE keys ADD COLUMN label TEXT",
    "ALTER TABLE keys ADD COLUMN hint TEXT",
    "ALTER TABLE pool_settings ADD COLUMN keys_expire INTEGER",
    "ALTER TABLE pool_settings ADD COLUMN expiry_switched_at INTEGER",
    "ALTER TABLE pool_meta ADD COLUMN sealed_with TEXT",
    `UPDATE idempotency SET outcome = json_remove(outcome, '$.value.key')
     WHERE json_type(outcome, '$.value.key') IS NOT NULL`,
  ],
};

/**
 * Version 5: keys that react to their upstream. A key may cool down (`cooling_until`: not handed out
 * before; its own partial index, so the alarm and the earliest-free probe stay point lookups) or be
 * disabled (`disabled_at`, indexed for its listing the same way; only disabled keys have an entry). A
 * key remembers its consecutive failures and last report, and counts on its own row (as version 2
 * does for assignments) the cooldowns, disables and reports by outcome it has had, folded into
 * `pool_stats` when it leaves, so a report writes its key's row and nothing else. Pools get three
 * settings: the default cooldown, the failures that start one, and the lock-delay.
 */
const V5: Migration = {
  version: 5,
  statements: [
    "ALTER TABLE keys ADD COLUMN cooling_until INTEGER",
    "ALTER TABLE keys ADD COLUMN disabled_at INTEGER",
    "ALTER TABLE keys ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE keys ADD COLUMN last_outcome TEXT",
    "ALTER TABLE keys ADD COLUMN last_report_at INTEGER",
    "ALTER TABLE keys ADD COLUMN cooldowns INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE keys ADD COLUMN disables INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE keys ADD COLUMN reported_ok INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE keys ADD COLUMN reported_rate_limited INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE keys ADD COLUMN reported_unauthorized INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE keys ADD COLUMN reported_error INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX keys_by_cooling ON keys (cooling_until) WHERE cooling_until IS NOT NULL",
    "CREATE INDEX keys_by_disabled ON keys (disabled_at) WHERE disabled_at IS NOT NULL",
    "ALTER TABLE pool_stats ADD COLUMN cooled INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pool_stats ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pool_stats ADD COLUMN reported_ok INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pool_stats ADD COLUMN reported_rate_limited INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pool_stats ADD COLUMN reported_unauthorized INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pool_stats ADD COLUMN reported_error INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pool_settings ADD COLUMN cooldown_ms INTEGER",
    "ALTER TABLE pool_settings ADD COLUMN max_failures INTEGER",
    "ALTER TABLE pool_settings ADD COLUMN lock_delay_ms INTEGER",
  ],
};

/**
 * Version 6: an audit trail. One row per change (`at`, `seq` as its primary key, so a time range is a
 * range of the key), with one partial index for one key's history; `pool_meta.audit_seq` keeps the
 * largest sequence number the alarm has pruned, so numbering goes on above it; a pool may set how
 * long entries are kept. New tables and columns with defaults: no row written per key.
 */
const V6: Migration = {
  version: 6,
  statements: [
    `CREATE TABLE audit (
       at INTEGER NOT NULL,
       seq INTEGER NOT NULL,
       event TEXT NOT NULL,
       key_id BLOB,
       lease INTEGER,
       outcome TEXT,
       role TEXT NOT NULL,
       actor TEXT,
       detail TEXT,
       PRIMARY KEY (at, seq)
     ) WITHOUT ROWID`,
    "CREATE INDEX audit_by_key ON audit (key_id) WHERE key_id IS NOT NULL",
    "ALTER TABLE pool_meta ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE pool_settings ADD COLUMN audit_retention_days INTEGER",
  ],
};

/** Every step, in order: version n is the n-th. */
export const MIGRATIONS: readonly Migration[] = [V1, V2, V3, V4, V5, V6];

/** The layout this code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A database's versioned layout: its steps, and the one-row table whose `schema_version` says how far it is. */
export interface Schema {
  readonly versionTable: string;
  readonly steps: readonly Migration[];
}

/** A pool's layout (each step's first version creates `pool_meta`). */
export const POOL_SCHEMA: Schema = { versionTable: "pool_meta", steps: MIGRATIONS };

/** A database this code must not touch; the message names both versions. */
export class SchemaVersionError extends Error {
  override readonly name = "SchemaVersionError";
}

/** The version of the layout stored, or 0 when the database holds none yet. */
export function storedVersion(db: CountedSql, schema: Schema = POOL_SCHEMA): number {
  const [table] = db.run("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?", schema.versionTable);
  if (table === undefined) return 0;
  // `versionTable` is one of this code's literals, never input: it names a table.
  const [meta] = db.run<{ schema_version: number }>(`SELECT schema_version FROM ${schema.versionTable} WHERE id = 1`);
  return meta?.schema_version ?? 0;
}

/**
 * Runs every step the database lacks, in order, and records the version reached; the caller runs it
 * in one transaction. Throws SchemaVersionError for a database newer than the schema, changing
 * nothing. Answers the version the database had.
 */
export function migrate(db: CountedSql, schema: Schema = POOL_SCHEMA): number {
  const from = storedVersion(db, schema);
  const to = schema.steps.length;
  if (from > to) {
    throw new SchemaVersionError(
      `this storage is at schema version ${from}, newer than this code's version ${to}: ` +
        "deploy the newer KeyPool again (it refuses to touch the storage meanwhile)",
    );
  }
  if (from === to) return from;
  // A pool's version 1 was never recorded as complete by the code that wrote it (see V1): make it so
  // first. Every schema's version 1 is idempotent, so running it again changes nothing else.
  const pending = schema.steps.filter((step) => step.version > from || (from === 1 && step.version === 1));
  for (const step of pending) for (const statement of step.statements) db.run(statement);
  db.run(`UPDATE ${schema.versionTable} SET schema_version = ? WHERE id = 1`, to);
  return from;
}
