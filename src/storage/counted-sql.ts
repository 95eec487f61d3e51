/**
 * Runs queries on an object's SQLite database and adds up the rows SQLite read and wrote, so tests
 * can show an operation's cost does not grow with the pool (as `KeyStore` does for its queries).
 */
export class CountedSql {
  rowsRead = 0;
  rowsWritten = 0;

  constructor(private readonly sql: SqlStorage) {}

  run<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.rowsRead += cursor.rowsRead;
    this.rowsWritten += cursor.rowsWritten;
    return rows;
  }
}
