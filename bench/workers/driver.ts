/**
 * Bench-only driver Worker: calls each KeyPool operation over RPC with no router and no validation,
 * so the load generator measures the object itself. It also calls the platform's own ceilings, in
 * the same process and run (the `Ceiling` object: a no-op RPC, a one-row read, a one-row write; the
 * bench hosts it in a Worker of its own built from this bundle), and a probe subclass of KeyPool that
 * runs the real alarm one run at a time, reads the database size, and reads what SQLite counted for
 * each operation (the rows Cloudflare bills).
 *
 * Routes: /{op}/{pool}/{id?}?query. `pool` names a pool of the production Worker's KeyPool
 * namespace (bound across services), so this driver and the HTTP stack act on the same data; the
 * `probe-*` routes name a pool of the Probe namespace (which the bench's wake run points at the
 * production pools' storage, bench/lib/wake.mjs). The bench serves this bundle once more without
 * KEY_ENCRYPTION_KEY (its `plain` Worker), whose probe pools store values as they are. Probe pools keep
 * their audit trail unless `probe-settings` turns it off (`auditRetentionDays=0`), and a measurement
 * can act with a token's fingerprint (`probe-prepare?actor`), as calls through the HTTP API do.
 */
import { DurableObject } from "cloudflare:workers";
import { configOf } from "../../src/config";
import { ALARM_BATCH, KeyPool } from "../../src/key-pool";
import type { SecretOf } from "../../src/key-pool/pool";
import { type ImportEntry, PoolValues } from "../../src/key-pool/values";
import type { Outcome } from "../../src/outcome";
import type { Actor, AuditPosition } from "../../src/pool/audit";
import type { IdempotencyToken } from "../../src/pool/idempotency";
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from "../../src/pool/limits";
import type { ListPosition, Page } from "../../src/pool/listing";
import { createKey, type Report, type ReportOutcome } from "../../src/pool/rules";
import { PoolDirectory } from "../../src/pool-directory";
import { KeyStore } from "../../src/storage/key-store";
import { migrate } from "../../src/storage/migrations";
import { CountedSql } from "../../src/storage/sql";
import { uuidToBytes } from "../../src/storage/uuid";
import { importEntries } from "./values";

interface DriverEnv {
  /** The production Worker's namespace (workerd binds it across services). */
  KEY_POOL: DurableObjectNamespace<KeyPool>;
  CEILING: DurableObjectNamespace<Ceiling>;
  PROBE: DurableObjectNamespace<Probe>;
  ID_ORDER: DurableObjectNamespace<IdOrder>;
  KEY_TTL_SECONDS: string;
  BLOCK_TTL_SECONDS: string;
  /** Set unless the bench runs without encryption (`--unencrypted`); the plain Worker never has it. */
  KEY_ENCRYPTION_KEY?: string;
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
 * columns, indexes and statements, values of the size KeyPool stores (sealed when the Worker has an
 * encryption key: random bytes of a sealed value's length, not encrypted); no idempotency, stats, log
 * line or alarm.
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
    const sealed = (this.env.KEY_ENCRYPTION_KEY ?? "") !== "";
    const records = Array.from({ length: count }, () =>
      createKey(
        {
          keyId: order === "random" ? crypto.randomUUID() : this.timeOrderedId(),
          secret: sealed
            ? { bytes: randomBytes(SEALED_UUID_BYTES), sealedBy: "00000000" }
            : { bytes: new Uint8Array(uuidToBytes(crypto.randomUUID())), sealedBy: null },
          source: "generated",
          label: null,
          hint: null,
        },
        now,
        3_600_000,
      ),
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

/** A generated value sealed (crypto/sealing.ts): a 12-byte nonce, its 16 bytes, a 16-byte tag. */
const SEALED_UUID_BYTES = 12 + 16 + 16;

/** How long the bench's cooldowns last: longer than any measurement, so none ends during one. */
const HOUR_MS = 3_600_000;
/** How long a waiting caller of the handoff waits at most: its key comes within milliseconds. */
const HANDOFF_WAIT_SECONDS = 5;

/** What an object's SQLite counted (src/storage/sql.ts): the statements, and the rows Cloudflare bills. */
export interface Counted {
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

/** What `Probe.measure` answers: the counts, the audit entries the calls added, and the database's size after them. */
export interface Measurement extends Counted {
  auditEntries: number;
  databaseSize: number;
}

/** The operations whose cost `Probe.measure` reads (bench/lib/costs.mjs names them); `none` is the loop alone. */
const MEASURED = [
  "none",
  "create-1",
  "create-1000",
  "import-1000",
  "seal-1000",
  "seal-import-1000",
  "open-1000",
  "assign",
  "unblock",
  "assign-unblock",
  "block-unblock",
  "keep-alive",
  "reveal",
  "info",
  "delete",
  "stats",
  "list",
  "assign-idempotent",
  "assign-replayed",
  "report-ok-release",
  "report-rate-limited",
  "report-error",
  "disable",
  "enable",
  // On a pool with no free key (`dryUp`): the earliest-free probe, and a waiting caller served by a release.
  "none-free",
  "handoff",
  // The audit trail (issue 15): an alarm run expiring a batch of keys, one entry appended by the store alone
  // (on a pool that keeps its trail), a settings change (an entry with no key), and reading the trail: its
  // newest page, a page from its middle, a page of one key's history.
  "alarm-expiry",
  "audit-append",
  "settings-change",
  "audit-page",
  "audit-page-middle",
  "audit-key-page",
] as const;
export type Measured = (typeof MEASURED)[number];

/**
 * What a probe pool's keys are: generated by the pool (`create`) or imported (`importKeys`, values
 * like a provider's API keys). The keys an operation acts on are made the same way.
 */
export type Source = "generated" | "imported";

/** What `Probe.prepare` made for the calls `Probe.measure` runs. */
interface Prepared {
  readonly operation: Measured;
  readonly times: number;
  /** For `import-1000` and `seal-import-1000`: the values of each call, made beforehand so that no call pays for them. */
  readonly imports: ImportEntry[][];
  /** For `open-1000`: 1000 stored values of the pool's keys, each opened once per call. */
  readonly secrets: SecretOf[];
  /** Free keys made for this run, one per call. */
  readonly ids: string[];
  /** Keys assigned for this run, with their leases, one per call. */
  readonly held: { keyId: string; lease: number }[];
  readonly tokens: IdempotencyToken[];
  /** Who the calls are for in the audit trail (undefined: an unnamed admin, as an RPC caller without a token). */
  readonly actor: Actor | undefined;
  /** For `audit-key-page`: the key whose history is read; for `audit-page-middle`: where the page starts. */
  readonly keyId: string | undefined;
  readonly after: AuditPosition | undefined;
  /** For `settings-change`: the cooldown the pool has, and another; the calls switch between the two. */
  readonly cooldowns: [number, number];
}

/** What `Probe.prepare` may be told besides the operation: see `Prepared`. */
export interface PrepareOptions {
  /** Act with a token's fingerprint in the audit trail, as every call through the HTTP API does. */
  readonly withActor?: boolean;
  /** For `audit-key-page`: the key whose history it reads (other operations ignore it). */
  readonly keyId?: string;
}

/** Entries of the trail one audit page shows (DEFAULT_AUDIT_PAGE). */
const AUDIT_PAGE = 100;

/**
 * KeyPool as deployed, plus what only a benchmark needs. Alarms the runtime delivers are ignored, so
 * a mass expiry waits until the bench runs the real alarm itself, one run per call, to time each run.
 * Its other methods read the object's own SQLite counters (`KeyPool.internals`) around operations
 * called as their RPC methods would be, so what they answer is what Cloudflare would bill them.
 */
export class Probe extends KeyPool {
  #prepared: Prepared | null = null;
  /** The values part of the object alone (sealing, fingerprints, opening), for `seal-*` and `open-1000`. */
  #values: PoolValues | null = null;
  /** Where the next measured listing page starts. */
  #listAfter: ListPosition | null = null;

  override async alarm(): Promise<void> {}

  /** One alarm run; whether any key is left (every key is expired when the bench calls this). */
  async runAlarm(): Promise<{ keysLeft: boolean }> {
    await super.alarm();
    return { keysLeft: this.ctx.storage.sql.exec("SELECT 1 FROM keys LIMIT 1").toArray().length > 0 };
  }

  storage(): { databaseSize: number; keys: number; auditEntries: number } {
    const sql = this.ctx.storage.sql;
    const count = (table: "keys" | "audit") => sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
    return { databaseSize: sql.databaseSize, keys: count("keys"), auditEntries: count("audit") };
  }

  /** Adds `count` keys of `source` (at most 1000): the pool's own, or imported values. */
  async add(count: number, source: Source): Promise<string[]> {
    return value(await (source === "imported" ? this.importKeys(importEntries(count)) : this.create(count)));
  }

  /**
   * Makes what `measure(operation)` uses, one per call, `times` calls: free keys of `source` to act on,
   * keys held with their leases, idempotency tokens (already used once, for a replay), values to
   * import. Builds the in-memory free set first, so no measured call pays the scan that follows a
   * start (`wake` measures that).
   */
  async prepare(
    operation: Measured,
    times: number,
    source: Source = "generated",
    options: PrepareOptions = {},
  ): Promise<void> {
    if (!MEASURED.includes(operation)) throw new RangeError(`no such measured operation: ${operation}`);
    KeyPool.internals(this).keys.freeCount();
    this.#listAfter = null;
    const prepared: Prepared = {
      operation,
      times,
      imports: [],
      secrets: [],
      ids: [],
      held: [],
      tokens: [],
      actor: options.withActor ? benchActor(operation) : undefined,
      keyId: operation === "audit-key-page" ? options.keyId : undefined,
      after: operation === "audit-page-middle" ? this.#middleOfTrail() : undefined,
      cooldowns: operation === "settings-change" ? await this.#twoCooldowns() : [0, 0],
    };
    if (["block-unblock", "keep-alive", "reveal", "info", "delete", "disable", "enable"].includes(operation)) {
      for (let left = times; left > 0; left -= 1000)
        prepared.ids.push(...(await this.add(Math.min(left, 1000), source)));
    }
    if (operation === "open-1000") {
      const { keys } = KeyPool.internals(this);
      for (const keyId of await this.add(1000, source)) {
        const record = keys.get(keyId);
        if (record === null) throw new Error(`key ${keyId} was just made, and is gone`);
        prepared.secrets.push({ keyId, source: record.source, secret: record.secret });
      }
    }
    if (operation === "import-1000" || operation === "seal-import-1000") {
      for (let i = 0; i < times; i++) prepared.imports.push(importEntries(1000));
    }
    if (operation === "enable") {
      for (const keyId of prepared.ids) value(this.setDisabled(keyId, true));
    }
    if (operation === "unblock" || operation.startsWith("report-")) {
      for (let i = 0; i < times; i++) prepared.held.push(value(await this.assign()));
    }
    if (operation === "none-free" || operation === "handoff") {
      const free = KeyPool.internals(this).keys.freeCount();
      if (free > 0) throw new Error(`${operation} needs a pool with no free key, and ${free} are free`);
    }
    if (operation === "handoff") prepared.held.push(...this.#blocked(times));
    if (operation === "alarm-expiry") await this.#expiring(times * ALARM_BATCH);
    if (operation === "audit-key-page" && options.keyId === undefined) throw new Error("audit-key-page needs a keyId");
    if (operation === "assign-idempotent" || operation === "assign-replayed") {
      for (let i = 0; i < times; i++) {
        const token = { keyHash: randomBytes(32), requestHash: randomBytes(32) };
        if (operation === "assign-replayed") value(await this.assign({ idempotency: token }));
        prepared.tokens.push(token);
      }
    }
    this.#prepared = prepared;
  }

  /**
   * Runs the prepared calls of `operation` and answers what SQLite counted for all of them, how many
   * audit entries they added, and the database's size after them.
   */
  async measure(operation: Measured): Promise<Measurement> {
    const prepared = this.#prepared;
    if (prepared?.operation !== operation) throw new Error(`${operation} was not prepared`);
    this.#prepared = null;
    const entriesBefore = this.#lastAuditSeq();
    const before = this.#counted();
    for (let i = 0; i < prepared.times; i++) await this.#call(prepared, i);
    const counted = difference(this.#counted(), before);
    const auditEntries = this.#lastAuditSeq() - entriesBefore;
    // `prepare` left exactly a batch per run expired, and nothing else in the pool.
    const left = operation === "alarm-expiry" ? this.#keyCount() : 0;
    if (left !== 0) throw new Error(`${prepared.times} alarm runs left ${left} expired keys: not a full batch each`);
    return { ...counted, auditEntries, databaseSize: this.ctx.storage.sql.databaseSize };
  }

  /**
   * One `assign()` or `info(keyId)`, and what SQLite counted for it; `sinceStart` is everything this
   * object counted since it started, so for the first call after a wake it includes the start itself.
   */
  async measureOne(operation: "assign" | "info", keyId: string): Promise<{ cost: Counted; sinceStart: Counted }> {
    const before = this.#counted();
    if (operation === "assign") value(await this.assign());
    else value(this.info(keyId));
    const sinceStart = this.#counted();
    return { cost: difference(sinceStart, before), sinceStart };
  }

  async #call(prepared: Prepared, i: number): Promise<void> {
    const id = prepared.ids[i] ?? "";
    const token = prepared.tokens[i];
    const actor = prepared.actor;
    switch (prepared.operation) {
      case "none":
        return;
      case "create-1":
        value(await this.create(1, { actor }));
        return;
      case "create-1000":
        value(await this.create(1000, { actor }));
        return;
      case "import-1000":
        value(await this.importKeys(prepared.imports[i] ?? []));
        return;
      // What create(1000) and importKeys(1000) do before their transaction, stored nowhere.
      case "seal-1000":
        await (await this.#poolValues()).generated(1000, null);
        return;
      case "seal-import-1000":
        await (await this.#poolValues()).imported(prepared.imports[i] ?? []);
        return;
      // What an assignment and a reveal do after their transaction, one value after the other as they do.
      case "open-1000": {
        const values = await this.#poolValues();
        for (const secret of prepared.secrets) value(await values.open(secret));
        return;
      }
      case "assign":
        value(await this.assign({ holder: newHolder(), actor }));
        return;
      case "unblock": {
        const held = prepared.held[i];
        if (held === undefined) throw new Error("no key held");
        value(this.setBlocked(held.keyId, false, { admin: true, lease: held.lease }, undefined, actor));
        return;
      }
      case "assign-unblock": {
        const held = value(await this.assign({ holder: newHolder(), actor }));
        value(this.setBlocked(held.keyId, false, { admin: true, lease: held.lease }, undefined, actor));
        return;
      }
      case "block-unblock": {
        const { lease } = value(this.setBlocked(id, true, { admin: true }, newHolder().digest, actor));
        value(this.setBlocked(id, false, { admin: true, lease }, undefined, actor));
        return;
      }
      case "keep-alive":
        value(this.keepAlive(id));
        return;
      case "reveal":
        value(await this.reveal(id));
        return;
      case "info":
        value(this.info(id));
        return;
      case "delete":
        value(this.remove(id, actor));
        return;
      case "stats":
        this.poolStats();
        return;
      case "list":
        this.#listAfter = value(this.listKeys("all", DEFAULT_LIST_LIMIT, this.#listAfter)).next;
        return;
      case "assign-idempotent":
      case "assign-replayed":
        value(await this.assign({ idempotency: token, holder: newHolder() }));
        return;
      case "report-ok-release":
        value(this.#reportHeld(prepared, i, { outcome: "ok", release: true }));
        return;
      // A cooldown that outlasts the measurement: nothing comes due meanwhile.
      case "report-rate-limited":
        value(this.#reportHeld(prepared, i, { outcome: "rate_limited", retryAfterMs: HOUR_MS }));
        return;
      // The first failure of the key: counted, the block kept (no cooldown before maxFailures).
      case "report-error":
        value(this.#reportHeld(prepared, i, { outcome: "error" }));
        return;
      case "disable":
        value(this.setDisabled(id, true));
        return;
      case "enable":
        value(this.setDisabled(id, false));
        return;
      case "none-free": {
        const answer = await this.assign({ holder: newHolder() });
        if (answer.ok || answer.refusal !== "none_free" || answer.retryAfterSeconds === undefined) {
          throw new Error(`expected none free, with when one will be: ${JSON.stringify(answer)}`);
        }
        return;
      }
      case "handoff": {
        // The caller joins the line (its assignment finds no free key) before the holder's release, whose
        // transaction hands it the key.
        const held = prepared.held[i];
        if (held === undefined) throw new Error("no key held");
        const waiting = this.assign({ waitSeconds: HANDOFF_WAIT_SECONDS, holder: newHolder() });
        value(this.setBlocked(held.keyId, false, { admin: true, lease: held.lease }));
        const served = value(await waiting);
        if (served.keyId !== held.keyId) throw new Error(`the waiter got ${served.keyId}, not ${held.keyId}, released`);
        return;
      }
      // One run of the real alarm, as the runtime would deliver it: a batch of the keys `prepare` let expire.
      case "alarm-expiry":
        await super.alarm();
        return;
      // What the trail adds to a write, alone: one keyed entry appended by the store, in a transaction of its own.
      case "audit-append": {
        const { audit } = KeyPool.internals(this);
        const change = {
          event: "unblocked",
          keyId: crypto.randomUUID(),
          lease: i + 1,
          outcome: null,
          actor: actor ?? benchActor("audit-append"),
          detail: null,
        } as const;
        this.ctx.storage.transactionSync(() => {
          audit.stage([change]);
          audit.flush(Date.now());
        });
        return;
      }
      case "settings-change":
        await this.updateSettings({ cooldownSeconds: prepared.cooldowns[i % 2] }, actor);
        return;
      case "audit-page":
      case "audit-page-middle":
      case "audit-key-page": {
        const filter = { limit: AUDIT_PAGE, after: prepared.after, keyId: prepared.keyId };
        const page = value(this.audit(filter));
        if (page.entries.length !== AUDIT_PAGE || !page.more) {
          throw new Error(`${prepared.operation}: a page of ${page.entries.length} entries, more: ${page.more}`);
        }
        return;
      }
    }
  }

  /** A report on the `i`-th key the preparation assigned, as its holder would send it (the lease, as an admin's fencing check). */
  #reportHeld(prepared: Prepared, i: number, report: Report): Outcome<unknown> {
    const held = prepared.held[i];
    if (held === undefined) throw new Error("no key held");
    return this.report(held.keyId, { admin: true, lease: held.lease }, report, prepared.actor);
  }

  /** Up to `count` blocked keys of the pool, with their current leases. */
  #blocked(count: number): { keyId: string; lease: number }[] {
    const { keys } = KeyPool.internals(this);
    const found: { keyId: string; lease: number }[] = [];
    let after: ListPosition | null = null;
    while (found.length < count) {
      const page: Page = value(this.listKeys("blocked", MAX_LIST_LIMIT, after));
      for (const { keyId } of page.keys) {
        const lease = keys.get(keyId)?.block?.lease;
        if (lease !== undefined && found.length < count) found.push({ keyId, lease });
      }
      if (page.next === null) break;
      after = page.next;
    }
    if (found.length < count) throw new Error(`only ${found.length} keys are blocked, ${count} wanted`);
    return found;
  }

  /**
   * Leaves no key free, for longer than a run: of the free keys, at most `limit` per call, every other
   * one blocked (an admin's block, for the pool's block time) and the rest cooling for an hour (an
   * admin's `rate_limited` report), so both indexes the earliest-free probe reads hold half the pool.
   * Answers how many keys are still free, and the first `sample` keys this call blocked.
   */
  dryUp(limit: number, sample: number): { free: number; blocked: string[] } {
    const { keys } = KeyPool.internals(this);
    const admin = { admin: true } as const;
    const blocked: string[] = [];
    for (let done = 0; done < limit && keys.freeCount() > 0; done++) {
      const key = keys.freeKeyAt(0);
      if (key === null) throw new Error("the free keys are inconsistent");
      if (done % 2 === 0) {
        value(this.setBlocked(key.keyId, true, admin, newHolder().digest));
        if (blocked.length < sample) blocked.push(key.keyId);
      } else {
        value(this.report(key.keyId, admin, { outcome: "rate_limited", retryAfterMs: HOUR_MS }));
      }
    }
    return { free: keys.freeCount(), blocked };
  }

  /**
   * Gives one key `cycles` block + unblock cycles (an admin's, with a token's fingerprint), two audit
   * entries each: a history long enough for a full page of it. A free key of the pool if `keyId` is
   * empty; answers the key.
   */
  churn(keyId: string, cycles: number): string {
    const key = keyId === "" ? KeyPool.internals(this).keys.freeKeyAt(0)?.keyId : keyId;
    if (key === undefined) throw new Error("no free key to give a history");
    const actor = benchActor("block-unblock");
    for (let i = 0; i < cycles; i++) {
      const { lease } = value(this.setBlocked(key, true, { admin: true }, newHolder().digest, actor));
      value(this.setBlocked(key, false, { admin: true, lease }, undefined, actor));
    }
    return key;
  }

  /**
   * Adds `count` keys and waits until every one has expired (the pool's key TTL must be short: the
   * bench sets a second), for alarm runs that each expire a full batch. Nothing else may be due.
   */
  async #expiring(count: number): Promise<void> {
    if (this.#keyCount() !== 0) throw new Error("alarm-expiry needs a pool with no key left");
    let last = "";
    for (let left = count; left > 0; left -= 1000)
      last = (await this.add(Math.min(left, 1000), "generated")).at(-1) ?? last;
    const expiresAt = Date.parse(value(this.info(last)).expiresAt ?? "");
    const wait = expiresAt - Date.now() + 20;
    if (!(wait < 10_000)) throw new Error(`alarm-expiry: the keys expire in ${wait} ms; set a short key TTL`);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** The pool's cooldown and one a second longer: a settings change switches between them, an entry each time. */
  async #twoCooldowns(): Promise<[number, number]> {
    const { cooldownSeconds } = await this.updateSettings({});
    return [cooldownSeconds + 1, cooldownSeconds];
  }

  /** The position of the trail's middle entry (read outside any measurement: it scans half the trail). */
  #middleOfTrail(): AuditPosition {
    const sql = this.ctx.storage.sql;
    const entries = sql.exec<{ n: number }>("SELECT count(*) AS n FROM audit").one().n;
    const [middle] = sql
      .exec<{ at: number; seq: number }>(
        "SELECT at, seq FROM audit ORDER BY at, seq LIMIT 1 OFFSET ?",
        Math.floor(entries / 2),
      )
      .toArray();
    if (middle === undefined) throw new Error("the trail is empty");
    return middle;
  }

  /** The newest audit entry's sequence number (0 for none): one probe of the trail's primary key, not counted. */
  #lastAuditSeq(): number {
    const [row] = this.ctx.storage.sql
      .exec<{ seq: number }>("SELECT seq FROM audit ORDER BY at DESC, seq DESC LIMIT 1")
      .toArray();
    return row?.seq ?? 0;
  }

  #keyCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM keys").one().n;
  }

  /** A PoolValues like the object's own (the same keys, this pool's name), made once. */
  async #poolValues(): Promise<PoolValues> {
    this.#values ??= new PoolValues(this.ctx.id.name ?? this.ctx.id.toString(), await configOf(this.env).valueKeys);
    return this.#values;
  }

  #counted(): Counted {
    const { db } = KeyPool.internals(this);
    return { statements: db.statements, rowsRead: db.rowsRead, rowsWritten: db.rowsWritten };
  }
}

function difference(after: Counted, before: Counted): Counted {
  return {
    statements: after.statements - before.statements,
    rowsRead: after.rowsRead - before.rowsRead,
    rowsWritten: after.rowsWritten - before.rowsWritten,
  };
}

/** The value of an outcome the bench expects to succeed: a refusal means the measurement is wrong. */
function value<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Error(`refused: ${outcome.refusal}`);
  return outcome.value;
}

function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

// Built with the project's wrangler.toml, which declares both classes: exported so that build succeeds.
export { KeyPool, PoolDirectory };

/**
 * A holder secret's digest, as the Worker makes one for every block: 32 random bytes stand in for it,
 * so the pool stores what it stores in production.
 */
function newHolder(): { digest: Uint8Array } {
  return { digest: crypto.getRandomValues(new Uint8Array(32)) };
}

/**
 * Who a measured call is for when it is made as through the HTTP API: the role the API requires for
 * it and a token's fingerprint of the length the Worker makes (12 hex digits), so each audit entry
 * holds what a real one holds.
 */
function benchActor(operation: Measured): Actor {
  const byAdmin = ["create-1", "create-1000", "block-unblock", "delete", "settings-change"];
  return { role: byAdmin.includes(operation) ? "admin" : "client", token: "5eed0f1ca7e5" };
}

/** The driver acts as an admin would: on any key, with a lease as a fencing check when given. */
function asAdmin(lease: number | undefined): { admin: true; lease?: number } {
  return lease === undefined ? { admin: true } : { admin: true, lease };
}

function reply(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value ?? null), { status, headers: { "content-type": "application/json" } });
}

function source(query: URLSearchParams): Source {
  return query.get("source") === "imported" ? "imported" : "generated";
}

function lease(query: URLSearchParams): number | undefined {
  const raw = query.get("lease");
  return raw === null ? undefined : Number(raw);
}

/** The writes `sequence` runs: each an RPC or two to the production Worker's pool. */
export type SequenceWrite = "create" | "assign-unblock" | "block-unblock" | "assign-report";

/**
 * `times` repetitions of `write`, each RPC awaited before the next is made: every call is a request of
 * its own to the pool's object, run and committed alone, as a client's request is, with no load
 * generator sharing the machine. Answers the RPCs made.
 */
async function sequence(stub: DurableObjectStub<KeyPool>, write: SequenceWrite, times: number): Promise<number> {
  let calls = 0;
  const done = <T>(outcome: Outcome<T>): T => {
    calls++;
    return value(outcome);
  };
  // Keys to block and unblock in turn (each free again after its unblock), found before the calls counted.
  const free = write === "block-unblock" ? value(await stub.listKeys("free", 100)).keys.map((key) => key.keyId) : [];
  for (let i = 0; i < times; i++) {
    switch (write) {
      case "create":
        done(await stub.create(1));
        break;
      case "assign-unblock": {
        const { keyId, lease } = done(await stub.assign({ holder: newHolder() }));
        done(await stub.setBlocked(keyId, false, asAdmin(lease)));
        break;
      }
      case "block-unblock": {
        const keyId = free[i % free.length] as string;
        const { lease } = done(await stub.setBlocked(keyId, true, asAdmin(undefined), newHolder().digest));
        done(await stub.setBlocked(keyId, false, asAdmin(lease ?? undefined)));
        break;
      }
      case "assign-report": {
        const { keyId, lease } = done(await stub.assign({ holder: newHolder() }));
        done(await stub.report(keyId, asAdmin(lease), { outcome: "ok", release: true }));
        break;
      }
    }
  }
  return calls;
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
      case "import": {
        // The values come in the body, made by the load generator: JSON.parse stands in for the router.
        const { keys } = (await request.json()) as { keys: ImportEntry[] };
        return reply(await env.KEY_POOL.getByName(pool).importKeys(keys));
      }
      case "assign": {
        // Answered with the status the HTTP API gives it, so a load sees a refusal: 404 when none is free.
        const answer = await env.KEY_POOL.getByName(pool).assign({ holder: newHolder() });
        return reply(answer, answer.ok ? 200 : answer.refusal === "none_free" ? 404 : 409);
      }
      case "pair": {
        // An ordinary assignment and the holder's release of it, in one request: what a handoff is compared with.
        const stub = env.KEY_POOL.getByName(pool);
        const assigned = await stub.assign({ holder: newHolder() });
        if (!assigned.ok) return reply(assigned, 409);
        const { keyId, lease } = assigned.value;
        const released = await stub.setBlocked(keyId, false, asAdmin(lease));
        return reply(released, released.ok ? 200 : 409);
      }
      case "handoff": {
        // A caller waits for a key in a pool with none free, then a release of key `id` frees one, which
        // the same transaction hands to the longest waiter; one request, two calls, like `pair`. The calls
        // go through one stub, so they arrive in the order made (E-order): the caller waits before the
        // release. With `check`, the pool's count of waiting callers is read between the two, to prove it.
        const stub = env.KEY_POOL.getByName(pool);
        const waiting = stub.assign({ waitSeconds: HANDOFF_WAIT_SECONDS, holder: newHolder() });
        const stats = query.has("check") ? await stub.poolStats() : null;
        const released = await stub.setBlocked(id, false, asAdmin(undefined));
        const served = await waiting;
        const waited = stats?.ok ? stats.value.waiting : null;
        return reply({ served, released, waited }, served.ok && released.ok ? 200 : 409);
      }
      case "report": {
        const outcome = (query.get("outcome") ?? "ok") as ReportOutcome;
        const retryAfter = query.get("retryAfterMs");
        const report: Report = {
          outcome,
          retryAfterMs: retryAfter === null ? undefined : Number(retryAfter),
          release: query.get("release") === "true",
        };
        const answer = await env.KEY_POOL.getByName(pool).report(id, asAdmin(lease(query)), report);
        return reply(answer, answer.ok ? 200 : 409);
      }
      case "reveal":
        return reply(await env.KEY_POOL.getByName(pool).reveal(id));
      case "info":
        return reply(await env.KEY_POOL.getByName(pool).info(id));
      case "alive":
        return reply(await env.KEY_POOL.getByName(pool).keepAlive(id, asAdmin(lease(query))));
      case "block":
        return reply(
          await env.KEY_POOL.getByName(pool).setBlocked(
            id,
            query.get("blocked") === "true",
            asAdmin(lease(query)),
            newHolder().digest,
          ),
        );
      case "id-order":
        return reply(
          await env.ID_ORDER.getByName(pool).insert(Number(query.get("count") ?? 1), id === "time" ? "time" : "random"),
        );
      case "probe-add":
        return reply(await env.PROBE.getByName(pool).add(Number(query.get("count") ?? 1), source(query)));
      case "probe-storage":
        return reply(await env.PROBE.getByName(pool).storage());
      case "probe-alarm":
        return reply(await env.PROBE.getByName(pool).runAlarm());
      case "probe-settings": {
        const retention = query.get("auditRetentionDays");
        return reply(
          await env.PROBE.getByName(pool).updateSettings({
            keyTtlSeconds: Number(query.get("keyTtl")),
            blockTtlSeconds: Number(query.get("blockTtl")),
            ...(retention === null ? {} : { auditRetentionDays: Number(retention) }),
          }),
        );
      }
      case "probe-dry":
        return reply(
          await env.PROBE.getByName(pool).dryUp(Number(query.get("limit") ?? 1000), Number(query.get("sample") ?? 0)),
        );
      case "probe-prepare":
        return reply(
          await env.PROBE.getByName(pool).prepare(id as Measured, Number(query.get("times") ?? 1), source(query), {
            withActor: query.has("actor"),
            ...(query.has("key") ? { keyId: query.get("key") ?? "" } : {}),
          }),
        );
      case "probe-churn":
        return reply(await env.PROBE.getByName(pool).churn(id, Number(query.get("cycles") ?? 1)));
      case "probe-measure":
        return reply(await env.PROBE.getByName(pool).measure(id as Measured));
      case "probe-once":
        return reply(
          await env.PROBE.getByName(pool).measureOne(id === "info" ? "info" : "assign", query.get("key") ?? ""),
        );
      case "stats":
        return reply(await env.KEY_POOL.getByName(pool).poolStats());
      case "sequence":
        return reply(
          await sequence(env.KEY_POOL.getByName(pool), id as SequenceWrite, Number(query.get("times") ?? 1)),
        );
      default:
        return new Response("unknown driver route", { status: 404 });
    }
  },
} satisfies ExportedHandler<DriverEnv>;
