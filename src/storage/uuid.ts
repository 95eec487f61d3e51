/**
 * UUIDs travel as text (`crypto.randomUUID()` form) and are stored as 16-byte blobs: less than half
 * the bytes per key and per index entry than the 36-character text.
 */

/** The 16 bytes of a UUID given as text; the caller has checked it with `isKeyId`. */
export function uuidToBytes(text: string): ArrayBuffer {
  const hex = text.replaceAll("-", "");
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes.buffer;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The canonical lower-case text form of a 16-byte UUID. */
export function bytesToUuid(buffer: ArrayBuffer | Uint8Array): string {
  const b = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
    out += HEX[b[i] as number];
  }
  return out;
}

/** Bytes as lower-case hex digits (what SQLite's `unhex` turns back into them). */
export function hexOf(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}

/** A UUID as the 32 hex digits SQLite's `unhex` turns into its 16 stored bytes. */
export function uuidHex(uuid: string): string {
  return uuid.replaceAll("-", "");
}
