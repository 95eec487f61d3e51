import { sha256 } from "../config";
import type { IdempotencyToken } from "../pool/idempotency";
import { hexOf } from "../storage/uuid";

/**
 * The digests a pool keeps for an idempotent call. A key belongs to the caller that used it: its
 * digest covers the caller's token digest too, so the same key from another token is another key and
 * can never replay that caller's answer. The request is identified by its method, its path within the
 * pool (so `/keys` and `/pools/default/keys` are the same request), and its validated query and body,
 * so formatting differences in the JSON do not count as a different request. A request that carries
 * secrets (imported values) is identified by an HMAC under a key derived from the `Idempotency-Key`
 * and the caller, neither of which the pool stores, so the stored digest lets nobody test guesses of
 * the values it covers.
 */
export async function idempotencyToken(
  key: string,
  caller: Uint8Array,
  request: { method: string; pathname: string; query?: unknown; body?: unknown; carriesSecrets?: boolean },
): Promise<IdempotencyToken> {
  const path = request.pathname.replace(/^\/pools\/[^/]+/, "");
  const described = JSON.stringify([request.method, path, request.query ?? null, request.body ?? null]);
  const [keyHash, requestHash] = await Promise.all([
    sha256(`${hexOf(caller)}:${key}`),
    request.carriesSecrets ? keyedDigest(key, caller, described) : sha256(described),
  ]);
  return { keyHash, requestHash };
}

async function keyedDigest(key: string, caller: Uint8Array, text: string): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(key), "HKDF", false, ["deriveKey"]);
  const hmac = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: caller.slice(), info: new TextEncoder().encode("KeyPool request digest") },
    material,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(text)));
}
