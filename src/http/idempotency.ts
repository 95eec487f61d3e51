import type { IdempotencyToken } from "../pool/idempotency";

/**
 * The digests a pool keeps for an idempotent call. The request is identified by its method, its
 * path within the pool (so `/keys` and `/pools/default/keys` are the same request), and its validated
 * query and body, so formatting differences in the JSON do not count as a different request.
 */
export async function idempotencyToken(
  key: string,
  request: { method: string; url: string },
  input: { query?: unknown; body?: unknown },
): Promise<IdempotencyToken> {
  const path = new URL(request.url).pathname.replace(/^\/pools\/[^/]+/, "");
  const described = JSON.stringify([request.method, path, input.query ?? null, input.body ?? null]);
  const [keyHash, requestHash] = await Promise.all([sha256(key), sha256(described)]);
  return { keyHash, requestHash };
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
