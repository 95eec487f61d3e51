import { errorText, logError } from "../log";
import { DIRECTORY_NAME } from "../pool-directory";
import { cursorText, encodeCursor } from "./cursor";
import { invalidRequest } from "./errors";
import type { ScrapedPool, ScrapedStats } from "./metrics-text";
import { PoolName } from "./schemas";

/** A page of the directory with each pool's statistics, and the cursor of the next page (null after the last). */
export interface DirectoryPage {
  readonly pools: ScrapedPool[];
  readonly next: string | null;
}

/**
 * One page of the directory (`GET /pools`, `GET /metrics`): up to `limit` pool names after `cursor`,
 * read as one range of the directory's primary key, then each pool's statistics from its own object,
 * all at once: one directory call and `limit` pool calls, whatever the number of pools. A pool whose
 * object fails to answer, or does not answer within POOL_ANSWER_TIMEOUT_MS, or holds nothing
 * (registered but never made, or retired meanwhile), is listed with null statistics rather than
 * failing or holding up the page.
 */
export async function directoryPage(env: Env, cursor: string | undefined, limit: number): Promise<DirectoryPage> {
  const after = cursor === undefined ? null : decodePoolCursor(cursor);
  const { names, more } = await env.POOL_DIRECTORY.getByName(DIRECTORY_NAME).list(after, limit);
  const pools = await Promise.all(names.map(async (pool) => ({ pool, stats: await statsOf(env, pool) })));
  const last = names.at(-1);
  return { pools, next: more && last !== undefined ? encodePoolCursor(last) : null };
}

/** How long a page waits for one pool's counts: a pool that does not answer by then is listed without them. */
export const POOL_ANSWER_TIMEOUT_MS = 2_000;

async function statsOf(env: Env, pool: string): Promise<ScrapedStats | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), POOL_ANSWER_TIMEOUT_MS);
  });
  try {
    const stats = await Promise.race([env.KEY_POOL.getByName(pool).poolStats(), late]);
    if (stats === null) {
      logError({ event: "pool_unanswered", pool, error: `no answer in ${POOL_ANSWER_TIMEOUT_MS} ms` });
      return null;
    }
    if (stats.ok) return stats.value;
    logError({ event: "pool_unanswered", pool, error: stats.refusal });
  } catch (error) {
    logError({ event: "pool_unanswered", pool, error: errorText(error) });
  } finally {
    clearTimeout(timer);
  }
  return null;
}

/**
 * A directory cursor is the name of the page's last pool, tagged, as base64url text: opaque to clients
 * like a key listing's cursor (list-keys.ts), and checked strictly on the way back in. A forged one can
 * only start the page elsewhere; a malformed one is a 400, never a 500.
 */
const TAG = "p";

export function encodePoolCursor(name: string): string {
  return encodeCursor(`${TAG}:${name}`);
}

export function decodePoolCursor(cursor: string): string {
  const name = parseCursor(cursor);
  if (name === null) throw invalidRequest([{ path: "query.cursor", message: "cursor is not one this API returned" }]);
  return name;
}

function parseCursor(cursor: string): string | null {
  const text = cursorText(cursor);
  const name = text?.startsWith(`${TAG}:`) ? text.slice(TAG.length + 1) : null;
  return name !== null && PoolName.safeParse(name).success ? name : null;
}
