/**
 * Values to import that look like an upstream provider's API keys: a provider's prefix, then random
 * base64url characters, 50 to 100 characters in all, each one unique (at least 40 random characters).
 * Shared by the driver Worker (probe pools) and the bench in Node (HTTP and RPC imports): only
 * erasable TypeScript, so Node runs this file as it is.
 */

const PREFIXES = ["sk-proj-", "sk-ant-api03-", "gsk_", "xai-", "sk-or-v1-", "pplx-"];
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
export const MIN_VALUE_LENGTH = 50;
export const MAX_VALUE_LENGTH = 100;

/** `count` distinct provider-key-like values. */
export function providerLikeValues(count: number): string[] {
  const random = randomBytes(count * (MAX_VALUE_LENGTH + 2));
  let at = 0;
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    const prefix = PREFIXES[(random[at++] ?? 0) % PREFIXES.length] ?? "";
    const length = MIN_VALUE_LENGTH + ((random[at++] ?? 0) % (MAX_VALUE_LENGTH - MIN_VALUE_LENGTH + 1));
    let value = prefix;
    while (value.length < length) value += ALPHABET[(random[at++] ?? 0) & 63];
    values.push(value);
  }
  return values;
}

/** An import request's entries: `{ key }` for each of `count` new values. */
export function importEntries(count: number): { key: string }[] {
  return providerLikeValues(count).map((key) => ({ key }));
}

/** `length` random bytes (getRandomValues fills at most 65,536 at a time). */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}
