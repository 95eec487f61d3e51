import { env, exports } from "cloudflare:workers";
import type { ConfigVars } from "../../src/config";

const ORIGIN = "http://keypool.test";

/** The tokens vitest.config.ts configures: each secret holds two, as during a rotation. */
export const TOKENS = {
  admin: tokensOf("ADMIN_TOKEN"),
  client: tokensOf("CLIENT_TOKEN"),
} as const;

export const ADMIN_TOKEN = TOKENS.admin[0];
export const CLIENT_TOKEN = TOKENS.client[0];

export interface CallOptions {
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** The bearer token to send: the admin token unless given; `null` sends no Authorization header. */
  token?: string | null;
}

/** Sends a request through the Worker's own fetch handler, as a client over HTTP would. */
export async function call(
  method: string,
  path: string,
  init: CallOptions = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  if (token !== null && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
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

function tokensOf(name: "ADMIN_TOKEN" | "CLIENT_TOKEN"): [string, string] {
  const [first, second] = ((env as ConfigVars)[name] ?? "").split(",");
  if (first === undefined || second === undefined) throw new Error(`vitest.config.ts must set two ${name}s`);
  return [first, second];
}
