/**
 * The one way KeyPool logs: one JSON object per event, printed as one line of JSON, which Workers
 * Logs indexes field by field and which reads the same in a local `wrangler dev` terminal (an object
 * handed to console.log would print there as a multi-line JS literal). Entries carry pool names, key
 * ids, counts and error names; never a key value, a lease, a token or a request payload.
 */
export type LogEntry = { readonly event: string } & Readonly<Record<string, unknown>>;

/** A change of state, or anything else an operator may want to find later. */
export function log(entry: LogEntry): void {
  console.log(JSON.stringify(entry));
}

/** A failure KeyPool survived, or answered 500 for: worth an operator's attention. */
export function logError(entry: LogEntry): void {
  console.error(JSON.stringify(entry));
}

/** An error as a log line names it: its name and message only (our errors never carry key values). */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
}
