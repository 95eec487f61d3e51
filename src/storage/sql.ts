/**
 * Runs queries on an object's SQLite database and counts what they cost: the statements run and the
 * rows SQLite read and wrote (the numbers Cloudflare bills). An object makes one and every store of
 * it runs its queries through that one, so the totals are all the object did: the complexity and
 * cost tests read them to show no operation grows with the pool.
 */
export class CountedSql {
  statements = 0;
  rowsRead = 0;
  rowsWritten = 0;

  constructor(private readonly sql: SqlStorage) {}

  run<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.statements++;
    this.rowsRead += cursor.rowsRead;
    this.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  /** The rows of a query as arrays of column values, one at a time: for a scan too large to hold as objects. */
  *scan(query: string, ...bindings: unknown[]): Generator<SqlStorageValue[]> {
    const cursor = this.sql.exec(query, ...bindings);
    this.statements++;
    try {
      yield* cursor.raw();
    } finally {
      this.rowsRead += cursor.rowsRead;
      this.rowsWritten += cursor.rowsWritten;
    }
  }
}
