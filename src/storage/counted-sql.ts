/**
 * Runs queries on an object's SQLite database and adds up the rows SQLite read and wrote. An object
 * makes one and every store of it runs its queries through that one, so the two totals are all the
 * rows the object touched: the complexity tests read them to show no operation grows with the pool.
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
