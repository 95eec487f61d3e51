import { sha256 } from "../config";
import type { IdempotencyToken } from "../pool/idempotency";

/**
 * The digests a pool keeps for an idempotent call. The request is identified by its method, its
 * path within the pool (so `/keys` and `/pools/default/keys` are the same request), and its validated
 * query and body, so formatting differences in the JSON do not count as a different request.
 */
export async function idempotencyToken(
  key: string,
  method: string,
  pathname: string,
  input: { query?: unknown; body?: unknown },
): Promise<IdempotencyToken> {
  const path = pathname.replace(/^\/pools\/[^/]+/, "");
  const described = JSON.stringify([method, path, input.query ?? null, input.body ?? null]);
  const [keyHash, requestHash] = await Promise.all([sha256(key), sha256(described)]);
  return { keyHash, requestHash };
}
