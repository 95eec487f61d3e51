/**
 * The audit trail names the token that acted by a short keyed fingerprint: the first 6 bytes (12 hex
 * digits) of an HMAC-SHA-256 of the token's SHA-256, under a key derived (HKDF) from a secret the
 * deployment holds. Tokens with the same fingerprint are the same token (collisions aside), and the
 * trail alone lets nobody test guesses of a token: that needs the secret too.
 *
 * The secret is the first KEY_ENCRYPTION_KEY when one is configured; without one, the configured
 * tokens' digests themselves (so fingerprints change when the set of tokens does).
 */

const INFO = new TextEncoder().encode("KeyPool audit actor fingerprint");
const FINGERPRINT_BYTES = 6;

/** The HMAC key fingerprints are made under, from `secret` (32 or more bytes of key material). */
export async function actorKeyOf(secret: Uint8Array): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", secret.slice(), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: INFO },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}

/** The fingerprint of the token whose SHA-256 is `tokenDigest`. */
export async function actorFingerprint(key: CryptoKey, tokenDigest: Uint8Array): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, tokenDigest.slice()));
  return Array.from(mac.subarray(0, FINGERPRINT_BYTES), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
