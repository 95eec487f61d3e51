import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  MIGRATIONS,
  type Migration,
  migrate,
  POOL_SCHEMA,
  SCHEMA_VERSION,
  SchemaVersionError,
  storedVersion,
} from "../../src/storage/migrations";
import { CountedSql } from "../../src/storage/sql";
import { dropAllTables } from "../support/legacy-pool";
import { freshPool } from "../support/pool";
import { thrownBy } from "../support/thrown";
import { V1_SCHEMA } from "./fixtures/v1";

/** Runs `test` on an empty database of an object of its own, with the object's transaction. */
function onEmptyDatabase<T>(test: (db: CountedSql, transaction: <R>(work: () => R) => R) => T): Promise<T> {
  return runInDurableObject(freshPool(), (_instance, state) => {
    dropAllTables(state.storage.sql);
    return test(new CountedSql(state.storage.sql), (work) => state.storage.transactionSync(work));
  });
}

const tables = (db: CountedSql) =>
  db
    .run<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
    )
    .map((t) => t.name);

describe("storage migrations", () => {
  it("are numbered 1, 2, ... in order, the last one being the version the code writes", () => {
    expect(MIGRATIONS.map((step) => step.version)).toEqual(MIGRATIONS.map((_step, index) => index + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it("keep version 1 exactly as the frozen copy of the statements KeyPool ran before them", () => {
    expect(MIGRATIONS[0]?.statements.map(normalize)).toEqual(V1_SCHEMA.map(normalize));
  });

  it("bring an empty database to the current version, and do nothing the second time", async () => {
    const result = await onEmptyDatabase((db, transaction) => {
      const first = transaction(() => migrate(db));
      const version = storedVersion(db);
      const written = db.rowsWritten;
      const second = transaction(() => migrate(db));
      return { first, version, second, writtenAgain: db.rowsWritten - written };
    });
    expect(result).toEqual({ first: 0, version: SCHEMA_VERSION, second: SCHEMA_VERSION, writtenAgain: 0 });
  });

  it("leave the database at its old version when a step fails, with nothing of the failed steps in it", async () => {
    const failing: Migration = {
      version: SCHEMA_VERSION + 2,
      statements: ["CREATE TABLE half_done (id INTEGER PRIMARY KEY)", "INSERT INTO no_such_table VALUES (1)"],
    };
    const added: Migration = {
      version: SCHEMA_VERSION + 1,
      statements: ["CREATE TABLE added (id INTEGER PRIMARY KEY)"],
    };
    const result = await onEmptyDatabase((db, transaction) => {
      transaction(() => migrate(db));
      const before = tables(db);
      const error = thrownBy(() =>
        transaction(() => migrate(db, { ...POOL_SCHEMA, steps: [...MIGRATIONS, added, failing] })),
      );
      return { error: String(error), version: storedVersion(db), before, after: tables(db) };
    });
    expect(result.error).toMatch(/no such table/);
    expect(result.version).toBe(SCHEMA_VERSION);
    expect(result.after).toEqual(result.before);
  });

  it("refuse a database newer than the code, naming both versions and changing nothing", async () => {
    const result = await onEmptyDatabase((db, transaction) => {
      transaction(() => migrate(db));
      db.run("UPDATE pool_meta SET schema_version = ? WHERE id = 1", SCHEMA_VERSION + 3);
      const written = db.rowsWritten;
      const error = thrownBy(() => transaction(() => migrate(db)));
      return { error, version: storedVersion(db), written: db.rowsWritten - written };
    });
    expect(result.error).toBeInstanceOf(SchemaVersionError);
    expect(result.error.message).toContain(
      `schema version ${SCHEMA_VERSION + 3}, newer than this code's version ${SCHEMA_VERSION}`,
    );
    expect(result.version).toBe(SCHEMA_VERSION + 3);
    expect(result.written).toBe(0);
  });
});

/** Statement text without the layout of its white space. */
function normalize(statement: string): string {
  return statement.replace(/\s+/g, " ").trim();
}
