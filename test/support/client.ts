import { env, exports } from "cloudflare:workers";
import { KeyPoolClient, type KeyPoolClientOptions } from "../../packages/client/src/index.js";
import { useFakeClock } from "./clock";
import { ADMIN_TOKEN, CLIENT_TOKEN, uniquePool } from "./http";
import { FakeTimers } from "./timers";

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

/**
 * A pool of its own with `keys` keys; a client (with `options`) on fake timers that share the pool's
 * fake clock, so lease renewals and cooldowns run to the millisecond without waiting; an admin client.
 */
export async function poolWithKeys(keys = 1, options: Partial<KeyPoolClientOptions> = {}) {
  const clock = useFakeClock();
  const timers = new FakeTimers(clock);
  const pool = uniquePool();
  const client = testClient({ pool, timers, ...options });
  const admin = adminClient({ pool });
  if (keys > 0) await admin.createKeys(keys);
  return { clock, timers, pool, client, admin, stub: env.KEY_POOL.getByName(pool) };
}
