/**
 * The audit trail names the token that acted by a short keyed fingerprint: the first 6 bytes (12 hex
 * digits) of an HMAC-SHA-256 of the token's SHA-256, under a key derived (HKDF) from a secret the
 * deployment holds. Tokens with the same fingerprint are the same token (collisions aside), and the
 * trail alone lets nobody test guesses of a token: that needs the secret too.
 *
 * The secret is the first KEY_ENCRYPTION_KEY when one is configured; without one, the configured
 * tokens' digests themselves (so fingerprints change when the set of tokens does).
 */

import { hexOf } from "../storage/uuid";
import { derivedHmacKey } from "./value-keys";

const FINGERPRINT_BYTES = 6;

/** Each key's fingerprints, by token digest: only configured tokens get here, so they are few. */
const known = new WeakMap<CryptoKey, Map<string, string>>();

/** The HMAC key fingerprints are made under, from `secret` (32 or more bytes of key material). */
export function actorKeyOf(secret: Uint8Array): Promise<CryptoKey> {
  return derivedHmacKey(secret, "KeyPool audit actor fingerprint");
}

/**
 * The fingerprint of the token whose SHA-256 is `tokenDigest`: worked out once per token and key, so
 * a request pays a map lookup, not an HMAC.
 */
export async function actorFingerprint(key: CryptoKey, tokenDigest: Uint8Array): Promise<string> {
  const byToken = known.get(key) ?? new Map<string, string>();
  known.set(key, byToken);
  const digest = hexOf(tokenDigest);
  const found = byToken.get(digest);
  if (found !== undefined) return found;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, tokenDigest.slice()));
  const fingerprint = hexOf(mac.subarray(0, FINGERPRINT_BYTES));
  byToken.set(digest, fingerprint);
  return fingerprint;
}
