import { sha256 } from "../config";
import type { IdempotencyToken } from "../pool/idempotency";

/**
 * The digests a pool keeps for an idempotent call. A key belongs to the caller that used it: its
 * digest covers the caller's token digest too, so the same key from another token is another key and
 * can never replay that caller's answer. The request is identified by its method, its path within the
 * pool (so `/keys` and `/pools/default/keys` are the same request), and its validated query and body,
 * so formatting differences in the JSON do not count as a different request.
 */
export async function idempotencyToken(
  key: string,
  caller: Uint8Array,
  request: { method: string; pathname: string; query?: unknown; body?: unknown },
): Promise<IdempotencyToken> {
  const path = request.pathname.replace(/^\/pools\/[^/]+/, "");
  const described = JSON.stringify([request.method, path, request.query ?? null, request.body ?? null]);
  const [keyHash, requestHash] = await Promise.all([sha256(`${hex(caller)}:${key}`), sha256(described)]);
  return { keyHash, requestHash };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
