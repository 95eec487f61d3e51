import { HttpError, invalidRequest } from "./errors";

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a request body as JSON, strictly: over `maxBytes` (64 KiB unless the endpoint says) is 413
 * (checked against Content-Length and again while streaming, for bodies sent without one), a non-JSON
 * Content-Type is 415, bytes that are not UTF-8 or text that is not JSON is 400. An empty body is
 * `undefined`, for optional bodies.
 */
export async function readJsonBody(request: Request, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readCapped(request.body, maxBytes);
  if (bytes.byteLength === 0) return undefined;

  const type = request.headers.get("content-type");
  if (type !== null && !isJsonType(type)) {
    throw unsupportedType(type);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalidRequest([{ path: "body", message: "not valid UTF-8" }]);
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest([{ path: "body", message: "not valid JSON" }]);
  }
}

function isJsonType(contentType: string): boolean {
  const essence = contentType.split(";", 1)[0]?.trim().toLowerCase() ?? "";
  return essence === "application/json" || /^application\/[\w.+-]+\+json$/.test(essence);
}

async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
  if (body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** 415, naming the type that was sent (its first 100 characters). */
export function unsupportedType(type: string): HttpError {
  const message = `must be application/json or a +json type, got "${type.slice(0, 100)}"`;
  return new HttpError(415, "Content-Type must be application/json", [{ path: "headers.content-type", message }]);
}

export function tooLarge(maxBytes = MAX_BODY_BYTES): HttpError {
  return new HttpError(413, `Request body is larger than ${maxBytes} bytes`);
}
