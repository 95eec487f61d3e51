import { exports } from "cloudflare:workers";
import { KeyPoolClient, type KeyPoolClientOptions } from "../../packages/client/src/index.js";
import { ADMIN_TOKEN, CLIENT_TOKEN } from "./http";

/** The origin tests address; the Worker ignores it. */
export const BASE_URL = "http://keypool.test";

/**
 * A client that talks to the real Worker in this test runtime, through its fetch handler, with the
 * client role's token (the one vitest.config.ts configures), as an edge caller would.
 */
export function testClient(options: Partial<KeyPoolClientOptions> = {}): KeyPoolClient {
  return new KeyPoolClient({
    baseUrl: BASE_URL,
    token: CLIENT_TOKEN,
    fetch: (request) => exports.default.fetch(request),
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
}

/** The same with the admin token: creating, deleting, and blocking or unblocking any key. */
export function adminClient(options: Partial<KeyPoolClientOptions> = {}): KeyPoolClient {
  return testClient({ token: ADMIN_TOKEN, ...options });
}
