/**
 * Sealing a pool's stored values (AES-256-GCM, WebCrypto). Each value gets a fresh random 96-bit
 * nonce, stored in front of its ciphertext, and is bound to its place: the pool's name and the key's
 * id are the additional data, so a ciphertext copied to another row or another pool does not open.
 */
import type { ValueKey } from "./value-keys";

const NONCE_BYTES = 12;

/** Where a value is stored: what its ciphertext is bound to. */
export interface ValuePlace {
  readonly pool: string;
  readonly keyId: string;
}

/** `plain` sealed under `key` for `place`: nonce, then ciphertext and tag. */
export async function seal(key: ValueKey, plain: Uint8Array, place: ValuePlace): Promise<Uint8Array> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: additionalData(place) },
    key.aes,
    plain.slice(),
  );
  const out = new Uint8Array(NONCE_BYTES + sealed.byteLength);
  out.set(nonce);
  out.set(new Uint8Array(sealed), NONCE_BYTES);
  return out;
}

/** The value `sealed` holds; throws (an OperationError) when it was not sealed by `key` for `place`. */
export async function open(key: ValueKey, sealed: Uint8Array, place: ValuePlace): Promise<Uint8Array> {
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: sealed.slice(0, NONCE_BYTES), additionalData: additionalData(place) },
    key.aes,
    sealed.slice(NONCE_BYTES),
  );
  return new Uint8Array(plain);
}

/** Bytes of a value's keyed fingerprint: 128 bits are far beyond any collision among a pool's keys. */
export const VALUE_FINGERPRINT_BYTES = 16;

/**
 * The keyed fingerprint of an imported value in `pool`, to find a value imported twice with one index
 * probe: an HMAC under a key derived from the encryption key, so that someone holding the database
 * but not the key cannot test guesses of a value against it (as a plain hash would let them).
 */
export async function valueFingerprint(key: ValueKey, pool: string, value: string): Promise<Uint8Array> {
  const mac = await crypto.subtle.sign("HMAC", key.hmac, new TextEncoder().encode(`${pool}\0${value}`));
  return new Uint8Array(mac).slice(0, VALUE_FINGERPRINT_BYTES);
}

function additionalData({ pool, keyId }: ValuePlace): Uint8Array {
  return new TextEncoder().encode(`KeyPool value\0${pool}\0${keyId}`);
}
