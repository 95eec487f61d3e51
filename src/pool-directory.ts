import { DurableObject } from "cloudflare:workers";
import { clock } from "./clock";
import { DIRECTORY_SCHEMA, DirectoryStore, type NamePage } from "./storage/directory-store";
import { migrate } from "./storage/migrations";
import { CountedSql } from "./storage/sql";

/** The one directory object's name. */
export const DIRECTORY_NAME = "directory";

/**
 * The most names one page of the directory holds: the largest scrape of `GET /metrics`, one pool RPC
 * per name (see docs/operating.md for what that costs).
 */
export const MAX_DIRECTORY_PAGE = 1000;

/**
 * Which pools exist: one Durable Object for the whole deployment. A pool exists once an admin made it
 * (by creating keys in it or setting its settings); the pool's own object registers it here when it
 * is made, before it stores anything, and leaves when it is retired. The Worker asks here before it
 * addresses a pool's object for anything but making it, so that a request on a made-up pool name
 * starts no object and leaves nothing behind. The Worker remembers the pools it has found
 * (src/http/pools.ts), so this is asked once per pool per Worker isolate, not on every request. It
 * also lists the pools by name, a page at a time, for `GET /pools` and `GET /metrics`. A pool stays
 * listed until it is retired, even with no key left in it.
 */
export class PoolDirectory extends DurableObject<Env> {
  readonly #pools: DirectoryStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const db = new CountedSql(ctx.storage.sql);
    this.#pools = new DirectoryStore(db);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.transactionSync(() => migrate(db, DIRECTORY_SCHEMA));
    });
  }

  /** Records that the pool exists (idempotent); true when it is new. */
  register(name: string): boolean {
    return this.#pools.add(name, clock.now());
  }

  exists(name: string): boolean {
    return this.#pools.has(name);
  }

  /**
   * Up to `limit` pool names after `after` (the first page when null), in name order, and whether
   * more follow: keyset pagination on the primary key, so a page reads its own rows and one more.
   */
  list(after: string | null, limit: number): NamePage {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DIRECTORY_PAGE) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_DIRECTORY_PAGE}`);
    }
    return this.#pools.page(after, limit);
  }

  /** Records that the pool was retired; true when it was listed. */
  unregister(name: string): boolean {
    return this.#pools.remove(name);
  }
}
