/**
 * The SQLite layout of one pool (one KeyPool Durable Object). See docs/storage-schema.md.
 * Every statement is idempotent: the object runs them all in its constructor on every start.
 */

export const SCHEMA_VERSION = 1;

export const SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS pool_meta (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     schema_version INTEGER NOT NULL,
     free_count INTEGER NOT NULL,
     lease_seq INTEGER NOT NULL
   )`,
  `INSERT OR IGNORE INTO pool_meta (id, schema_version, free_count, lease_seq) VALUES (1, ${SCHEMA_VERSION}, 0, 0)`,
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
  // Operator statistics (src/storage/pool-stats.ts): the live key count and event counters, kept
  // as keys change so reading them is one row. A pool that predates this table is counted once, here;
  // the scalar subquery runs only when the row is missing, not on every start.
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
];
