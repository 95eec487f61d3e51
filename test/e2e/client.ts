import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * What the reliability end-to-end tests share: test-only tokens (passed to `wrangler dev` as vars,
 * never written anywhere), a persistence folder a test owns, and one API call as a client makes it.
 */
export const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef";
export const CLIENT_TOKENS = Array.from(
  { length: 64 },
  (_, i) => `e2e-client-token-${String(i).padStart(4, "0")}-abcdef`,
);
export const TOKEN_VARS = { ADMIN_TOKEN, CLIENT_TOKEN: CLIENT_TOKENS.join(",") };

/** A fresh, empty persistence folder; the caller removes it with `removeDir`. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "keypool-e2e-"));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** One API call: JSON in and out, a bearer token (admin unless given), a bounded wait. */
export async function api(
  origin: string,
  method: string,
  path: string,
  options: { json?: unknown; token?: string; leaseToken?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {
    ...options.headers,
    authorization: `Bearer ${options.token ?? ADMIN_TOKEN}`,
  };
  if (options.leaseToken !== undefined) headers["keypool-lease-token"] = options.leaseToken;
  if (options.json !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(origin + path, {
    method,
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text }; // the caller's assertion shows it
  }
}
