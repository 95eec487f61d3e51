import { exports } from "cloudflare:workers";

const ORIGIN = "http://keypool.test";

/** Sends a request through the Worker's own fetch handler, as a client over HTTP would. */
export async function call(
  method: string,
  path: string,
  init: { json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  const response = await exports.default.fetch(new Request(ORIGIN + path, { method, headers, body }));
  const text = await response.text();
  const isJson = response.headers.get("content-type")?.includes("json") ?? false;
  return { status: response.status, headers: response.headers, body: isJson && text !== "" ? JSON.parse(text) : text };
}

/** A pool name of its own for each test: storage is shared by every test in a file. */
export function uniquePool(): string {
  return `t-${crypto.randomUUID()}`;
}
