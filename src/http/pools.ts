/**
 * Which pools exist, as this Worker isolate knows them: the directory object (src/pool-directory.ts)
 * is asked about a pool the isolate has not seen yet, and a pool found is remembered, so the
 * directory is asked once per pool per isolate. A pool is never forgotten once made, so the memory
 * never answers wrongly; it is bounded in case an isolate sees very many pools.
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

/** Records the pool in the directory before anything is stored in it, so a pool never exists unregistered. */
export async function registerPool(env: Env, name: string): Promise<void> {
  if (known.has(name)) return;
  await directory(env).register(name);
  remember(name);
}

function directory(env: Env) {
  return env.POOL_DIRECTORY.getByName(DIRECTORY_NAME);
}

function remember(name: string): void {
  if (known.size >= MAX_REMEMBERED) known.clear();
  known.add(name);
}
