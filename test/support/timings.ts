import { env } from "cloudflare:workers";
import { configOf } from "../../src/config";

/**
 * The timings every test runs with: wrangler.toml's [vars] as the code parses them, so no test
 * restates a TTL. Tests move time with the fake clock (clock.ts), never by waiting.
 */
const { timings, maxHoldMs } = configOf(env);

export const KEY_TTL_MS = timings.keyTtlMs;
export const BLOCK_TTL_MS = timings.blockTtlMs;
export const MAX_HOLD_SECONDS = maxHoldMs / 1000;

export { iso } from "../../src/pool/views";
