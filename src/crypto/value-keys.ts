/**
 * The encryption keys of KEY_ENCRYPTION_KEY (docs/security.md, "Encryption at rest"). A pool seals the
 * values it stores with AES-256-GCM under the first key and opens each under the key that sealed it;
 * a stored value records that key by its fingerprint: the first 4 bytes of the SHA-256 of the key's
 * 32 bytes, as 8 hex digits (`printf %s "$KEY" | base64 -d | sha256sum | cut -c1-8`). A fingerprint
 * names a key; it cannot help anyone find one, since the key is 256 random bits.
 */

import { hexOf } from "../storage/uuid";

/** One configured key, ready for WebCrypto. */
export interface ValueKey {
  readonly fingerprint: string;
  /** AES-256-GCM: seals and opens values. */
  readonly aes: CryptoKey;
  /** HMAC-SHA-256 under a key derived from this one (HKDF): the keyed fingerprints of imported values. */
  readonly hmac: CryptoKey;
  /** The published local development key (see LOCAL_DEV_KEY): it protects nothing. */
  readonly local: boolean;
}

export interface ValueKeys {
  /** The key new values are sealed under, or null when none is configured. */
  readonly sealing: ValueKey | null;
  /** Every key a value may be opened with, by fingerprint; the sealing key first. */
  readonly byFingerprint: ReadonlyMap<string, ValueKey>;
}

/** What a key is made from: its 32 bytes, and whether it is the local development key. */
export interface KeyMaterial {
  readonly bytes: Uint8Array;
  readonly local: boolean;
}

export const KEY_BYTES = 32;

/**
 * The key `npm start` and `npm run dev` use when KEY_ENCRYPTION_KEY is not set, so that importing
 * keys works on a fresh clone with no setup. It is derived from this published text, so it protects
 * nothing: anyone with the local state folder can open what it sealed. Those scripts alone set
 * LOCAL_DEV_NO_AUTH, which a deployed Worker never has; there it also opens what it sealed when a
 * real key is configured, so a developer who adds one gets the old values re-sealed under it.
 */
export const LOCAL_DEV_KEY_TEXT = "KeyPool local development encryption key: it protects nothing";

export async function localDevKey(): Promise<KeyMaterial> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(LOCAL_DEV_KEY_TEXT));
  return { bytes: new Uint8Array(bytes), local: true };
}

/** The keys, in order (the first seals), each imported once; fingerprints are distinct (the config checked). */
export async function valueKeysOf(materials: readonly KeyMaterial[]): Promise<ValueKeys> {
  const keys = await Promise.all(materials.map(valueKeyOf));
  return { sealing: keys[0] ?? null, byFingerprint: new Map(keys.map((key) => [key.fingerprint, key])) };
}

export async function fingerprintOf(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return hexOf(digest.subarray(0, 4));
}

async function valueKeyOf({ bytes, local }: KeyMaterial): Promise<ValueKey> {
  const raw = bytes.slice();
  const [fingerprint, aes, hmac] = await Promise.all([
    fingerprintOf(raw),
    crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]),
    derivedHmacKey(raw, "KeyPool imported value fingerprint"),
  ]);
  return { fingerprint, aes, hmac, local };
}

/** An HMAC-SHA-256 signing key derived (HKDF, no salt) from `secret` for the purpose `info` names. */
export async function derivedHmacKey(secret: Uint8Array, info: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", secret.slice(), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: new TextEncoder().encode(info) },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}
