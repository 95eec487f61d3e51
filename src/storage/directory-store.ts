import type { Schema } from "./migrations";
import type { CountedSql } from "./sql";

/**
 * The directory's layout, versioned like a pool's (docs/storage-schema.md). Version 1: one row per
 * pool an admin made, by name.
 */
export const DIRECTORY_SCHEMA: Schema = {
  versionTable: "directory_meta",
  steps: [
    {
      version: 1,
      statements: [
        // Idempotent, like every schema's version 1 (see `migrate`).
        "CREATE TABLE IF NOT EXISTS directory_meta (id INTEGER PRIMARY KEY CHECK (id = 1), schema_version INTEGER NOT NULL)",
        "INSERT OR IGNORE INTO directory_meta (id, schema_version) VALUES (1, 1)",
        "CREATE TABLE IF NOT EXISTS pools (name TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID",
      ],
    },
  ],
};

/** A page of the directory: pool names in order, and whether more follow the last. */
export interface NamePage {
  readonly names: string[];
  readonly more: boolean;
}

/**
 * The `pools` table: which pools exist. Every query is a point lookup by name, or a range of names in
 * primary-key order (a page reads its own rows and one more, whatever the directory's size).
 */
export class DirectoryStore {
  constructor(private readonly db: CountedSql) {}

  /** Records `name` as made at `now`; true when it was new. */
  add(name: string, now: number): boolean {
    return (
      this.db.run("INSERT OR IGNORE INTO pools (name, created_at) VALUES (?, ?) RETURNING 1 AS added", name, now)
        .length > 0
    );
  }

  has(name: string): boolean {
    return this.db.run("SELECT 1 AS found FROM pools WHERE name = ?", name).length > 0;
  }

  /**
   * Up to `limit` names after `after` (from the first when null), in name order (SQLite's binary
   * order: pool names are ASCII), and whether more follow: one range of the primary key.
   */
  page(after: string | null, limit: number): NamePage {
    // Every name sorts after the empty string: a pool name is at least one character.
    const rows = this.db.run<{ name: string }>(
      "SELECT name FROM pools WHERE name > ? ORDER BY name LIMIT ?",
      after ?? "",
      limit + 1,
    );
    const more = rows.length > limit;
    return { names: rows.slice(0, limit).map((row) => row.name), more };
  }

  remove(name: string): boolean {
    return this.db.run("DELETE FROM pools WHERE name = ? RETURNING 1 AS removed", name).length > 0;
  }
}
