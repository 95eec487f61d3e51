/**
 * Which pools exist, as this Worker isolate knows them: the directory object (src/pool-directory.ts)
 * is asked about a pool the isolate has not seen yet, and a pool found is remembered, so the
 * directory is asked once per pool per isolate. A pool retired while another isolate remembers it
 * is refused by its own object, which then holds nothing ("No such pool"), so a stale memory never
 * serves a pool that is gone. The memory is bounded in case an isolate sees very many pools.
 */
import { DIRECTORY_NAME } from "../pool-directory";
import { refusalError } from "./errors";

const known = new Set<string>();
const MAX_REMEMBERED = 10_000;

/** 404 unless an admin made the pool. */
export async function requireExistingPool(env: Env, name: string): Promise<void> {
  if (known.has(name)) return;
  if (!(await directory(env).exists(name))) throw refusalError("no_such_pool");
  remember(name);
}

/** This isolate forgets the pool (it was retired); other isolates' memory is corrected by the pool itself. */
export function forgetPool(name: string): void {
  known.delete(name);
}

function directory(env: Env) {
  return env.POOL_DIRECTORY.getByName(DIRECTORY_NAME);
}

function remember(name: string): void {
  if (known.size >= MAX_REMEMBERED) known.clear();
  known.add(name);
}
