/**
 * Bench-only driver Worker: calls each KeyPool operation over RPC with no router and no validation,
 * so the load generator measures the object itself. It also calls the platform's own ceilings, in
 * the same process and run (the `Ceiling` object: a no-op RPC, a one-row read, a one-row write; the
 * bench hosts it in a Worker of its own built from this bundle), and a probe subclass of KeyPool that
 * runs the real alarm one run at a time and reads the database size.
 *
 * Routes: /{op}/{pool}/{id?}?query. `pool` names a pool of the production Worker's KeyPool
 * namespace (bound across services), so this driver and the HTTP stack act on the same data.
 */
import { DurableObject } from "cloudflare:workers";
import { KeyPool } from "../../src/key-pool";
import { createKey } from "../../src/pool/rules";
import { KeyStore } from "../../src/storage/key-store";
import { migrate } from "../../src/storage/migrations";
import { CountedSql } from "../../src/storage/sql";

interface DriverEnv {
  /** The production Worker's namespace (workerd binds it across services). */
  KEY_POOL: DurableObjectNamespace<KeyPool>;
  CEILING: DurableObjectNamespace<Ceiling>;
  PROBE: DurableObjectNamespace<Probe>;
  ID_ORDER: DurableObjectNamespace<IdOrder>;
  KEY_TTL_SECONDS: string;
  BLOCK_TTL_SECONDS: string;
}

/**
 * The platform's ceilings: a call that does nothing, one that reads one row, and one that writes one
 * row and commits it.
 */
export class Ceiling extends DurableObject<DriverEnv> {
  constructor(ctx: DurableObjectState, env: DriverEnv) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS writes (id BLOB PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID");
    sql.exec("CREATE TABLE IF NOT EXISTS one (id INTEGER PRIMARY KEY, value BLOB NOT NULL)");
    sql.exec("INSERT OR IGNORE INTO one (id, value) VALUES (1, randomblob(16))");
  }

  noop(): null {
    return null;
  }

  /** The least a read can cost: one statement that reads one row. */
  read(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT length(value) AS n FROM one WHERE id = 1").one().n;
  }

  /** One new row with a random 16-byte key, like a key's primary key. */
  write(): null {
    this.ctx.storage.sql.exec("INSERT INTO writes (id, at) VALUES (randomblob(16), ?)", Date.now());
    return null;
  }
}

/**
 * What bounds bulk creation: KeyPool's own store and schema, inserting `count` free keys per call,
 * with random ids as KeyPool makes them (UUIDv4) or with time-ordered ids (a sequence number, then
 * random bytes), which land at the right edge of the primary key's tree. Nothing else differs: same
 * columns, indexes and statements; no idempotency, stats, log line or alarm.
 */
export class IdOrder extends DurableObject<DriverEnv> {
  private readonly store: KeyStore;
  private seq = 0;

  constructor(ctx: DurableObjectState, env: DriverEnv) {
    super(ctx, env);
    const db = new CountedSql(ctx.storage.sql);
    ctx.storage.transactionSync(() => migrate(db));
    this.store = new KeyStore(db);
  }

  insert(count: number, order: "random" | "time"): number {
    const now = Date.now();
    const timings = { keyTtlMs: 3_600_000, blockTtlMs: 60_000 };
    const records = Array.from({ length: count }, () =>
      createKey(order === "random" ? crypto.randomUUID() : this.timeOrderedId(), crypto.randomUUID(), now, timings),
    );
    this.ctx.storage.transactionSync(() => this.store.insert(records));
    return count;
  }

  /** 16 bytes in UUID form: 8 bytes of a growing sequence (from the clock), then 8 random bytes. */
  private timeOrderedId(): string {
    this.seq = Math.max(this.seq + 1, Date.now() * 1000);
    const hex = this.seq.toString(16).padStart(16, "0") + crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}

/**
 * KeyPool as deployed, plus what only a benchmark needs. Alarms the runtime delivers are ignored, so
 * a mass expiry waits until the bench runs the real alarm itself, one run per call, to time each run.
 */
export class Probe extends KeyPool {
  override async alarm(): Promise<void> {}

  /** One alarm run; whether any key is left (every key is expired when the bench calls this). */
  async runAlarm(): Promise<{ keysLeft: boolean }> {
    await super.alarm();
    return { keysLeft: this.ctx.storage.sql.exec("SELECT 1 FROM keys LIMIT 1").toArray().length > 0 };
  }

  storage(): { databaseSize: number; keys: number } {
    const sql = this.ctx.storage.sql;
    const keys = sql.exec<{ n: number }>("SELECT count(*) AS n FROM keys").one().n;
    return { databaseSize: sql.databaseSize, keys };
  }
}

// Built with the project's wrangler.toml, which declares KeyPool: exported so that build succeeds.
export { KeyPool };

function reply(value: unknown): Response {
  return new Response(JSON.stringify(value ?? null), { headers: { "content-type": "application/json" } });
}

function lease(query: URLSearchParams): number | undefined {
  const raw = query.get("lease");
  return raw === null ? undefined : Number(raw);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const [, op = "", pool = "", id = ""] = url.pathname.split("/");
    const query = url.searchParams;
    switch (op) {
      case "noop":
        return reply(await env.CEILING.getByName("ceiling").noop());
      case "read":
        return reply(await env.CEILING.getByName("ceiling").read());
      case "write":
        return reply(await env.CEILING.getByName("ceiling").write());
      case "create":
        return reply(await env.KEY_POOL.getByName(pool).create(Number(query.get("count") ?? 1)));
      case "assign":
        return reply(await env.KEY_POOL.getByName(pool).assign());
      case "reveal":
        return reply(await env.KEY_POOL.getByName(pool).reveal(id));
      case "info":
        return reply(await env.KEY_POOL.getByName(pool).info(id));
      case "alive":
        return reply(await env.KEY_POOL.getByName(pool).keepAlive(id, lease(query)));
      case "block":
        return reply(await env.KEY_POOL.getByName(pool).setBlocked(id, query.get("blocked") === "true", lease(query)));
      case "id-order":
        return reply(
          await env.ID_ORDER.getByName(pool).insert(Number(query.get("count") ?? 1), id === "time" ? "time" : "random"),
        );
      case "probe-create":
        return reply(await env.PROBE.getByName(pool).create(Number(query.get("count") ?? 1)));
      case "probe-storage":
        return reply(await env.PROBE.getByName(pool).storage());
      case "probe-alarm":
        return reply(await env.PROBE.getByName(pool).runAlarm());
      default:
        return new Response("unknown driver route", { status: 404 });
    }
  },
} satisfies ExportedHandler<DriverEnv>;
