import { runInDurableObject } from "cloudflare:test";
import type { KeyPool } from "../../src/key-pool";
import type { IdempotencyToken } from "../../src/pool/idempotency";
import { bytesToUuid } from "../../src/storage/uuid";
import { V1_FIRST_TABLES, V1_SCHEMA } from "../storage/fixtures/v1";
import { V2_STEP } from "../storage/fixtures/v2";
import { V3_STEP } from "../storage/fixtures/v3";
import { V4_STEP } from "../storage/fixtures/v4";
import { V5_STEP } from "../storage/fixtures/v5";
import { KEY_TTL_MS } from "./timings";

/** What a v1 pool built by `buildV1Pool` holds, for the test to find again after the upgrade. */
export interface V1Pool {
  /** When it was written; the test's clock stands there. */
  readonly now: number;
  /** Free, in free slots 0 and 1. */
  readonly free: readonly [string, string];
  /** Blocked by an assignment under lease 7 for the pool's block time (30 s, its own setting). */
  readonly held: string;
  /** Blocked under lease 8; its release passed 10 s ago and no alarm has ended it yet. */
  readonly overdue: string;
  /** Free, in free slot 2; it expired 1 ms ago and no alarm has deleted it yet. */
  readonly expired: string;
  /** Blocked under lease 9 for a 600 s hold (`holdSeconds`). */
  readonly longHold: string;
  /** Every key's value, by id. */
  readonly values: Readonly<Record<string, string>>;
  /** An idempotent create whose answer (the first free key) is stored, and an assignment refused as none_free. */
  readonly replays: { readonly create: IdempotencyToken; readonly assign: IdempotencyToken };
  /** The lease counter, and the counters stored. */
  readonly leaseSeq: number;
  readonly counters: { created: number; assigned: number; released: number; expired: number; deleted: number };
}

const POOL_BLOCK_TTL = 30_000;

/**
 * Replaces the object's database with one written in storage version 1 by the code of that time,
 * holding keys in every state, deadlines past and pending, a setting, idempotency entries and
 * counters. With `firstTablesOnly`, it is a pool of the first v1 code: no `pool_stats`,
 * `pool_settings` or `idempotency` table. Evict the object afterwards, so it starts again on this database.
 */
export function buildV1Pool(stub: DurableObjectStub<KeyPool>, now: number, firstTablesOnly = false): Promise<V1Pool> {
  return runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql;
    dropAllTables(sql);
    for (const statement of firstTablesOnly ? V1_FIRST_TABLES : V1_SCHEMA) sql.exec(statement);

    const ids = Array.from({ length: 6 }, () => crypto.randomUUID());
    const [a, b, held, overdue, expired, longHold] = ids as [string, string, string, string, string, string];
    const values = Object.fromEntries(ids.map((id) => [id, crypto.randomUUID()]));
    const key = (
      id: string,
      created: number,
      activity: number,
      block: [number, number, number] | null,
      slot: number | null,
    ) =>
      sql.exec(
        `INSERT INTO keys (id, secret, created_at, last_activity, expires_at, blocked_at, release_at, lease, free_slot)
         VALUES (unhex(?), unhex(?), ?, ?, ?, ?, ?, ?, ?)`,
        hex(id),
        hex(values[id] as string),
        created,
        activity,
        activity + KEY_TTL_MS,
        block?.[0] ?? null,
        block?.[1] ?? null,
        block?.[2] ?? null,
        slot,
      );
    key(a, now - 20_000, now - 10_000, null, 0);
    key(b, now - 20_000, now - 20_000, null, 1);
    key(held, now - 20_000, now - 5_000, [now - 5_000, now - 5_000 + POOL_BLOCK_TTL, 7], null);
    key(overdue, now - 80_000, now - 80_000, [now - 40_000, now - 10_000, 8], null);
    key(expired, now - KEY_TTL_MS - 1, now - KEY_TTL_MS - 1, null, 2);
    key(longHold, now - 1_000, now - 1_000, [now - 1_000, now - 1_000 + 600_000, 9], null);
    sql.exec("UPDATE pool_meta SET free_count = 3, lease_seq = 9 WHERE id = 1");

    const counters = { created: 10, assigned: 7, released: 2, expired: 3, deleted: 1 };
    const replays = { create: token(), assign: token() };
    if (!firstTablesOnly) {
      sql.exec("INSERT INTO pool_settings (id, key_ttl_ms, block_ttl_ms) VALUES (1, NULL, ?)", POOL_BLOCK_TTL);
      sql.exec(
        "UPDATE pool_stats SET total = 6, created = ?, assigned = ?, released = ?, expired = ?, deleted = ? WHERE id = 1",
        counters.created,
        counters.assigned,
        counters.released,
        counters.expired,
        counters.deleted,
      );
      const entry = (t: IdempotencyToken, outcome: unknown) =>
        sql.exec(
          "INSERT INTO idempotency (key_hash, request_hash, expires_at, outcome) VALUES (?, ?, ?, ?)",
          t.keyHash.buffer,
          t.requestHash.buffer,
          now + 3_600_000,
          JSON.stringify(outcome),
        );
      entry(replays.create, { ok: true, value: [a] });
      entry(replays.assign, { ok: false, refusal: "none_free" });
    }
    await state.storage.setAlarm(now - 10_000);
    return { now, free: [a, b], held, overdue, expired, longHold, values, replays, leaseSeq: 9, counters };
  });
}

/** What a v2 pool built by `buildV2Pool` holds. */
export interface V2Pool {
  readonly now: number;
  /** Free; assigned twice and released once by the pool before, its last lease 5 kept. */
  readonly free: string;
  /** Blocked under lease 9 (the largest), made before holder secrets: its block has no holder. */
  readonly held: string;
  readonly values: Readonly<Record<string, string>>;
  /** `pool_stats` as stored: what keys gone counted, and their largest lease (12). */
  readonly stored: {
    total: number;
    created: number;
    assigned: number;
    released: number;
    expired: number;
    deleted: number;
  };
  readonly leaseFloor: number;
}

/** Replaces the object's database with one written in storage version 2 (v1's statements, then v2's step). */
export function buildV2Pool(stub: DurableObjectStub<KeyPool>, now: number): Promise<V2Pool> {
  return runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql;
    dropAllTables(sql);
    for (const statement of [...V1_SCHEMA, ...V2_STEP]) sql.exec(statement);
    sql.exec("UPDATE pool_meta SET schema_version = 2 WHERE id = 1");
    const [free, held] = [crypto.randomUUID(), crypto.randomUUID()];
    const values = { [free]: crypto.randomUUID(), [held]: crypto.randomUUID() };
    const insert = (id: string, block: [number, number] | null, lease: number, assignments: number, releases: number) =>
      sql.exec(
        `INSERT INTO keys (id, secret, created_at, last_activity, expires_at, blocked_at, release_at, lease, assignments, releases)
         VALUES (unhex(?), unhex(?), ?, ?, ?, ?, ?, ?, ?, ?)`,
        hex(id),
        hex(values[id] as string),
        now - 1_000,
        now - 1_000,
        now - 1_000 + KEY_TTL_MS,
        block?.[0] ?? null,
        block?.[1] ?? null,
        lease,
        assignments,
        releases,
      );
    insert(free, null, 5, 2, 1);
    insert(held, [now - 500, now - 500 + 60_000], 9, 1, 0);
    const stored = { total: 2, created: 7, assigned: 4, released: 3, expired: 2, deleted: 3 };
    sql.exec(
      "UPDATE pool_stats SET total = ?, created = ?, assigned = ?, released = ?, expired = ?, deleted = ?, lease_floor = 12",
      ...Object.values(stored),
    );
    // An entry of a caller-blind idempotency table, holding an assignment's key value.
    sql.exec(
      "INSERT INTO idempotency (key_hash, request_hash, expires_at, outcome) VALUES (randomblob(32), randomblob(32), ?, ?)",
      now + 3_600_000,
      JSON.stringify({ ok: true, value: { keyId: held, key: values[held], lease: 9, releaseAt: "" } }),
    );
    return { now, free, held, values, stored, leaseFloor: 12 };
  });
}

/** What a v3 pool built by `buildV3Pool` holds. */
export interface V3Pool {
  readonly now: number;
  /** Free, kept alive 10 s ago. */
  readonly free: string;
  /** Blocked under lease 11 by a holder whose secret's SHA-256 is `holderDigest`, release in 50 s. */
  readonly held: string;
  readonly holderDigest: Uint8Array;
  /** Blocked under lease 10; its release passed 1 s ago and no alarm has ended it yet. */
  readonly overdue: string;
  /** Free; it expired 1 ms ago and no alarm has deleted it yet. */
  readonly expired: string;
  /** Every key's value, by id, stored as it is (version 3 never encrypted). */
  readonly values: Readonly<Record<string, string>>;
  /** The idempotent assignment that handed out `held`; its stored answer holds the key's value. */
  readonly replay: IdempotencyToken;
}

/**
 * Replaces the object's database with one written in storage version 3 (v1's statements, then the
 * steps of v2 and v3), holding keys in every state, a holder's digest, settings and an idempotency
 * answer that holds a key value, as version 3 stored it.
 */
export function buildV3Pool(stub: DurableObjectStub<KeyPool>, now: number): Promise<V3Pool> {
  return runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql;
    dropAllTables(sql);
    for (const statement of [...V1_SCHEMA, ...V2_STEP, ...V3_STEP]) sql.exec(statement);
    sql.exec("UPDATE pool_meta SET schema_version = 3 WHERE id = 1");
    const ids = Array.from({ length: 4 }, () => crypto.randomUUID());
    const [free, held, overdue, expired] = ids as [string, string, string, string];
    const values = Object.fromEntries(ids.map((id) => [id, crypto.randomUUID()]));
    const holderDigest = crypto.getRandomValues(new Uint8Array(32));
    const insert = (id: string, activity: number, block: [number, number, number, Uint8Array | null] | null) =>
      sql.exec(
        `INSERT INTO keys (id, secret, created_at, last_activity, expires_at, blocked_at, release_at, lease, holder,
                           assignments, releases)
         VALUES (unhex(?), unhex(?), ?, ?, ?, ?, ?, ?, ?, 1, 0)`,
        hex(id),
        hex(values[id] as string),
        now - 100_000,
        activity,
        activity + KEY_TTL_MS,
        block?.[0] ?? null,
        block?.[1] ?? null,
        block?.[2] ?? null,
        block?.[3]?.slice().buffer ?? null,
      );
    insert(free, now - 10_000, null);
    insert(held, now - 10_000, [now - 10_000, now + 50_000, 11, holderDigest]);
    insert(overdue, now - 10_000, [now - 61_000, now - 1_000, 10, crypto.getRandomValues(new Uint8Array(32))]);
    insert(expired, now - KEY_TTL_MS - 1, null);
    sql.exec("UPDATE pool_stats SET total = 4, created = 4, lease_floor = 3 WHERE id = 1");
    sql.exec(
      "INSERT INTO pool_settings (id, key_ttl_ms, block_ttl_ms, reveal_values) VALUES (1, NULL, NULL, 'anyone')",
    );
    const replay = token();
    sql.exec(
      "INSERT INTO idempotency (key_hash, request_hash, expires_at, outcome) VALUES (?, ?, ?, ?)",
      replay.keyHash.buffer,
      replay.requestHash.buffer,
      now + 3_600_000,
      JSON.stringify({
        ok: true,
        value: { keyId: held, key: values[held], lease: 11, releaseAt: new Date(now + 50_000).toISOString() },
      }),
    );
    await state.storage.setAlarm(now - 1_000);
    return { now, free, held, holderDigest, overdue, expired, values, replay };
  });
}

/** What a v4 pool built by `buildV4Pool` holds. */
export interface V4Pool {
  readonly now: number;
  /** A generated key, free, labelled "spare". */
  readonly free: string;
  /** An imported key, free, labelled "team-a", with its hint. */
  readonly imported: string;
  /** An imported key blocked under lease 21 by the holder whose secret's SHA-256 is `holderDigest`. */
  readonly held: string;
  readonly holderDigest: Uint8Array;
  /** A generated key whose block (lease 20) ran out 1 s ago; no alarm has ended it yet. */
  readonly overdue: string;
  /** A generated key that expired 1 ms ago; no alarm has deleted it yet. */
  readonly expired: string;
  /** The imported values, by id. */
  readonly values: Readonly<Record<string, string>>;
  /** The idempotent assignment that handed out `held`, stored as version 4 stored it. */
  readonly replay: IdempotencyToken;
}

/**
 * Replaces the object's database with one written in storage version 4 (v1's statements, then the
 * steps of v2, v3 and v4), holding keys in every state of version 4: generated and imported (sealed
 * under the test's encryption key, with their keyed fingerprints, labels and hint), free, held with
 * a holder, overdue, expired; settings, counters and an idempotency answer. The sealed values and
 * fingerprints are made by the current code first (their format did not change), then written into
 * the version-4 tables.
 */
export async function buildV4Pool(stub: DurableObjectStub<KeyPool>, now: number): Promise<V4Pool> {
  const values = { team: `sk-team-${crypto.randomUUID()}`, held: `sk-held-${crypto.randomUUID()}` };
  const imported = await stub.importKeys([
    { key: values.team, label: "team-a" },
    { key: values.held, label: "team-b" },
  ]);
  const generated = await stub.create(3, { label: "spare" });
  if (!imported.ok || !generated.ok) throw new Error("could not make the keys to write as version 4");
  const [team, held] = imported.value as [string, string];
  const [free, overdue, expired] = generated.value as [string, string, string];
  return runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql;
    const made = sql
      .exec<{
        id: ArrayBuffer;
        secret: ArrayBuffer;
        sealed_by: string | null;
        fingerprint: ArrayBuffer | null;
        hint: string | null;
      }>("SELECT id, secret, sealed_by, fingerprint, hint FROM keys")
      .toArray();
    const sealedWith = sql.exec<{ s: string | null }>("SELECT sealed_with AS s FROM pool_meta").one().s;
    dropAllTables(sql);
    for (const statement of [...V1_SCHEMA, ...V2_STEP, ...V3_STEP, ...V4_STEP]) sql.exec(statement);
    sql.exec("UPDATE pool_meta SET schema_version = 4, sealed_with = ? WHERE id = 1", sealedWith);
    const holderDigest = crypto.getRandomValues(new Uint8Array(32));
    const blocks: Record<string, [number, number, number, Uint8Array]> = {
      [held]: [now - 10_000, now + 50_000, 21, holderDigest],
      [overdue]: [now - 61_000, now - 1_000, 20, crypto.getRandomValues(new Uint8Array(32))],
    };
    const labels: Record<string, string> = { [team]: "team-a", [held]: "team-b" };
    for (const row of made) {
      const id = bytesToUuid(row.id);
      const activity = id === expired ? now - KEY_TTL_MS - 1 : now - 10_000;
      const block = blocks[id];
      sql.exec(
        `INSERT INTO keys (id, secret, created_at, last_activity, expires_at, blocked_at, release_at, lease, holder,
                           assignments, releases, sealed_by, fingerprint, label, hint)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
        row.id,
        row.secret,
        now - 100_000,
        activity,
        activity + KEY_TTL_MS,
        block?.[0] ?? null,
        block?.[1] ?? null,
        block?.[2] ?? null,
        block?.[3].slice().buffer ?? null,
        block === undefined ? 0 : 1,
        row.sealed_by,
        row.fingerprint,
        labels[id] ?? "spare",
        row.hint,
      );
    }
    sql.exec("UPDATE pool_stats SET total = 5, created = 7, deleted = 2, assigned = 4, lease_floor = 19 WHERE id = 1");
    sql.exec(
      "INSERT INTO pool_settings (id, key_ttl_ms, block_ttl_ms, reveal_values, keys_expire) VALUES (1, NULL, NULL, 'holder', 1)",
    );
    const replay = token();
    sql.exec(
      "INSERT INTO idempotency (key_hash, request_hash, expires_at, outcome) VALUES (?, ?, ?, ?)",
      replay.keyHash.buffer,
      replay.requestHash.buffer,
      now + 3_600_000,
      JSON.stringify({ ok: true, value: { keyId: held, lease: 21, releaseAt: new Date(now + 50_000).toISOString() } }),
    );
    await state.storage.setAlarm(now - 1_000);
    return {
      now,
      free,
      imported: team,
      held,
      holderDigest,
      overdue,
      expired,
      values: { [team]: values.team, [held]: values.held },
      replay,
    };
  });
}

/**
 * Rewrites the pool's database (made by the current code, holding what the test put in it) as storage
 * version 5 wrote it: every table dropped, version 5's layout made from the frozen statements, and the
 * rows of `keys`, `pool_stats`, `pool_settings` and `idempotency` put back, in the columns version 5
 * has. Version 6 added no column to `keys`, so every key comes back exactly as it was.
 */
export function rewriteAsV5(stub: DurableObjectStub<KeyPool>): Promise<void> {
  return runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const tables = ["keys", "pool_stats", "pool_settings", "idempotency"];
    const rows = Object.fromEntries(tables.map((table) => [table, sql.exec(`SELECT * FROM ${table}`).toArray()]));
    const sealedWith = sql.exec<{ s: string | null }>("SELECT sealed_with AS s FROM pool_meta").one().s;
    dropAllTables(sql);
    for (const statement of [...V1_SCHEMA, ...V2_STEP, ...V3_STEP, ...V4_STEP, ...V5_STEP]) sql.exec(statement);
    sql.exec("UPDATE pool_meta SET schema_version = 5, sealed_with = ? WHERE id = 1", sealedWith);
    sql.exec("DELETE FROM pool_stats");
    for (const table of tables) {
      const columns = new Set(
        sql
          .exec<{ name: string }>(`PRAGMA table_info(${table})`)
          .toArray()
          .map((c) => c.name),
      );
      for (const row of rows[table] ?? []) {
        const kept = Object.entries(row).filter(([name]) => columns.has(name));
        sql.exec(
          `INSERT INTO ${table} (${kept.map(([name]) => name).join(", ")}) VALUES (${kept.map(() => "?").join(", ")})`,
          ...kept.map(([, value]) => value),
        );
      }
    }
  });
}

/** Every table of the pool's own (not the platform's `_cf_` tables), dropped. */
export function dropAllTables(sql: SqlStorage): void {
  const tables = sql
    .exec<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
    )
    .toArray();
  for (const { name } of tables) sql.exec(`DROP TABLE "${name}"`);
}

/** The stored schema version. */
export function schemaVersion(stub: DurableObjectStub<KeyPool>): Promise<number> {
  return runInDurableObject(
    stub,
    (_instance, state) =>
      state.storage.sql.exec<{ v: number }>("SELECT schema_version AS v FROM pool_meta WHERE id = 1").one().v,
  );
}

function token(): IdempotencyToken {
  return {
    keyHash: crypto.getRandomValues(new Uint8Array(32)),
    requestHash: crypto.getRandomValues(new Uint8Array(32)),
  };
}

function hex(uuid: string): string {
  return uuid.replaceAll("-", "");
}
