/**
 * Holder secrets (`leaseToken`): each block gets 256 random bits, answered once with the block; the
 * holder sends them back in the `KeyPool-Lease-Token` header (never in a URL) to prove it holds the
 * key. The pool keeps only their SHA-256. For an idempotent assignment the secret is also sealed
 * (AES-256-GCM) under a key derived from the caller's own `Idempotency-Key` and token, which the
 * pool never stores, so only that caller's retry can have it answered again.
 */
import { sha256 } from "../config";

export const LEASE_TOKEN_HEADER = "KeyPool-Lease-Token";

/** 32 random bytes as base64url without padding. */
export const LEASE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new block's secret, its digest, and (for an idempotent call) the secret sealed for the replay. */
export interface HolderSecret {
  readonly token: string;
  readonly digest: Uint8Array;
  readonly sealed?: string;
}

/** Who may unseal a replayed secret: the `Idempotency-Key` as sent and the caller's token digest. */
export interface ReplayScope {
  readonly idempotencyKey: string;
  readonly caller: Uint8Array;
}

export async function newHolderSecret(scope?: ReplayScope): Promise<HolderSecret> {
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await sha256(token);
  if (scope === undefined) return { token, digest };
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce },
    await sealingKey(scope),
    new TextEncoder().encode(token),
  );
  return { token, digest, sealed: base64url(concat(nonce, new Uint8Array(sealed))) };
}

/** The secret a replayed answer carries, unsealed with the caller's own scope. */
export async function unseal(sealed: string, scope: ReplayScope): Promise<string> {
  const bytes = fromBase64url(sealed);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12) },
    await sealingKey(scope),
    bytes.slice(12),
  );
  return new TextDecoder().decode(plain);
}

/** The digest of a presented `KeyPool-Lease-Token` (its form checked by the endpoint's schema). */
export function presentedHolder(token: string | undefined): Promise<Uint8Array | undefined> {
  return token === undefined ? Promise.resolve(undefined) : sha256(token);
}

async function sealingKey({ idempotencyKey, caller }: ReplayScope): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(idempotencyKey), "HKDF", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: caller.slice(), info: new TextEncoder().encode("KeyPool lease token") },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
