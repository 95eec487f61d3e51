import { exports } from "cloudflare:workers";
import { KeyPoolClient, type KeyPoolClientOptions } from "../../src/client";

/** The origin tests address; the Worker ignores it. */
export const BASE_URL = "http://keypool.test";

/** The token the test configuration gives clients, if it defines one. */
export const CLIENT_TOKEN: string | undefined = undefined;

/** A client that talks to the real Worker in this test runtime, through its fetch handler. */
export function testClient(options: Partial<KeyPoolClientOptions> = {}): KeyPoolClient {
  return new KeyPoolClient({
    baseUrl: BASE_URL,
    token: CLIENT_TOKEN,
    fetch: (request) => exports.default.fetch(request),
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
}
