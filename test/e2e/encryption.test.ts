import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LOCAL_DEV_KEY_TEXT } from "../../src/crypto/value-keys";
import { ADMIN_TOKEN, api, removeDir, TOKEN_VARS, tempDir } from "./client";
import {
  apiKeyValue,
  encryptionOf,
  fingerprintOf,
  jwtValue,
  newEncryptionKey,
  randomText,
  readEveryValue,
  serviceAccountValue,
  shortValue,
  waitUntilSealedUnder,
} from "./encryption-keys";
import { type DevServer, startDevServer } from "./server";

// This file's port range; key-rotation.test.ts has 9900-9949.
const PORTS: [number, number] = [9850, 9899];
// Keys outlive the test however slowly the machine starts servers.
const LONG_TTL = { KEY_TTL_SECONDS: "3600" };

const dirs: string[] = [];
const servers: DevServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  for (const dir of dirs) removeDir(dir);
});

async function start(vars: Record<string, string>, persistTo?: string): Promise<DevServer> {
  const server = await startDevServer(PORTS, vars, persistTo);
  servers.push(server);
  return server;
}

function ownedDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

/** Every file under `dir`, with its bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path: relative(dir, path), bytes: readFileSync(path) };
    });
}

/** Shorter forms are not looked for: one could turn up by chance in megabytes of ciphertext. */
const MIN_FORM_BYTES = 6;
/** Parts of a value this long are looked for too, so a value cut in pieces (a page's overflow) is found. */
const PART_BYTES = 16;

/**
 * Every form in which a stored value could give itself away: as text in the encodings SQLite and
 * JavaScript use, escaped as JSON or a URL would, as hex and base64 (at each of the three alignments
 * it can have inside a longer base64 text), as a plain hash (which would let anyone test a guess),
 * and any part of it of PART_BYTES.
 */
function formsOf(value: string): { form: string; bytes: Buffer }[] {
  const utf8 = Buffer.from(value, "utf8");
  const utf16le = Buffer.from(value, "utf16le");
  const sha256 = createHash("sha256").update(utf8).digest();
  const forms = [
    { form: "UTF-8", bytes: utf8 },
    { form: "UTF-16LE", bytes: utf16le },
    { form: "UTF-16BE", bytes: Buffer.from(utf16le).swap16() },
    { form: "JSON string", bytes: Buffer.from(JSON.stringify(value).slice(1, -1)) },
    { form: "URL-encoded", bytes: Buffer.from(encodeURIComponent(value)) },
    { form: "hex", bytes: Buffer.from(utf8.toString("hex")) },
    { form: "HEX", bytes: Buffer.from(utf8.toString("hex").toUpperCase()) },
    { form: "SHA-256", bytes: sha256 },
    { form: "SHA-256 hex", bytes: Buffer.from(sha256.toString("hex")) },
  ];
  for (const skip of [0, 1, 2]) {
    const whole = utf8.subarray(skip, skip + Math.floor((utf8.length - skip) / 3) * 3);
    forms.push({ form: `base64 from byte ${skip}`, bytes: Buffer.from(whole.toString("base64")) });
    forms.push({ form: `base64url from byte ${skip}`, bytes: Buffer.from(whole.toString("base64url")) });
  }
  for (let at = 0; at + PART_BYTES <= utf8.length; at += PART_BYTES / 2) {
    forms.push({ form: `UTF-8 bytes ${at}-${at + PART_BYTES}`, bytes: utf8.subarray(at, at + PART_BYTES) });
  }
  return forms.filter(({ bytes }) => bytes.length >= MIN_FORM_BYTES);
}

/** Where any form of any of `secrets` (by name) occurs in `files`: "file: name as form". */
function occurrences(files: { path: string; bytes: Buffer }[], secrets: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [name, value] of secrets) {
    for (const { form, bytes } of formsOf(value)) {
      for (const file of files) if (file.bytes.includes(bytes)) found.push(`${file.path}: ${name} as ${form}`);
    }
  }
  return found;
}

/** The 16 bytes a UUID is stored as. */
const uuidBytes = (uuid: string) => Buffer.from(uuid.replaceAll("-", ""), "hex");

/** A request with an `Idempotency-Key`, which the pool keeps an answer for. */
async function once(origin: string, method: string, path: string, idempotencyKey: string, json?: unknown) {
  const response = await fetch(origin + path, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "idempotency-key": idempotencyKey,
      ...(json === undefined ? {} : { "content-type": "application/json" }),
    },
    body: json === undefined ? undefined : JSON.stringify(json),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: await response.json() };
}

describe("encryption at rest", () => {
  it("a real wrangler dev's SQLite files hold no imported value in any form", async () => {
    const dir = ownedDir();
    const pool = "at-rest";
    const server = await start({ ...TOKEN_VARS, ...LONG_TTL, KEY_ENCRYPTION_KEY: newEncryptionKey() }, dir);
    const values = [
      ...Array.from({ length: 5 }, apiKeyValue),
      serviceAccountValue(),
      serviceAccountValue(),
      ...Array.from({ length: 3 }, shortValue),
      ...Array.from({ length: 3 }, jwtValue),
      `ghp_${randomText(36)}`,
      `xoxb-${randomText(12, "0123456789")}-${randomText(24)}`,
      `pässwörd ключ 🔑 "quoted" \\ ${randomText(20)}`,
      `AKIA${randomText(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}`,
      // Longer than a database page holds in one piece.
      randomBytes(6000).toString("base64"),
      `line one ${randomText(10)}\nline two ${randomText(10)}\r\n\ttabbed ${randomText(10)}`,
    ];
    const labels = values.map((_, i) => `label-${i}-${randomText(20)}`);
    const entries = values.map((key, i) => ({ key, label: labels[i] }));

    // Most in one import; the rest with an Idempotency-Key, whose answer the pool keeps, sent twice.
    const first = await api(server.origin, "POST", `/pools/${pool}/keys`, { json: { keys: entries.slice(0, 15) } });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const rest = { keys: entries.slice(15) };
    const importKey = crypto.randomUUID();
    const second = await once(server.origin, "POST", `/pools/${pool}/keys`, importKey, rest);
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(await once(server.origin, "POST", `/pools/${pool}/keys`, importKey, rest)).toEqual(second);
    const again = await once(server.origin, "POST", `/pools/${pool}/keys`, crypto.randomUUID(), { keys: [entries[0]] });
    expect(again.status).toBe(409); // imported already: the refusal names the key, not the value
    const importedIds: string[] = [...first.body.keyIds, ...second.body.keyIds];
    expect(importedIds).toHaveLength(values.length);
    // Generated keys are sealed too when a key is configured.
    const generated = await api(server.origin, "POST", `/pools/${pool}/keys`, {
      json: { count: 3, label: "generated" },
    });
    expect(generated.status).toBe(201);
    const generatedIds: string[] = generated.body.keyIds;

    // Every value reads back as imported: assigned, read as holder, released.
    const read = await readEveryValue(server.origin, pool, values.length + generatedIds.length);
    expect(importedIds.map((id) => read.get(id))).toEqual(values);

    // Some keys stay blocked, one by an idempotent assignment asked twice (its answer is kept).
    const assignKey = crypto.randomUUID();
    const kept = await once(server.origin, "GET", `/pools/${pool}/keys`, assignKey);
    expect(kept.status).toBe(200);
    expect(await once(server.origin, "GET", `/pools/${pool}/keys`, assignKey)).toEqual(kept);
    for (let i = 0; i < 3; i++) expect((await api(server.origin, "GET", `/pools/${pool}/keys`)).status).toBe(200);
    const encryption = await encryptionOf(server.origin, pool);
    expect(encryption.values).toEqual([
      { sealedBy: encryption.sealingKey, values: values.length + generatedIds.length, available: true },
    ]);

    await server.stop(); // SQLite files (and their write-ahead logs) are closed and flushed
    const files = filesUnder(dir);
    // The pool's own database: its file and write-ahead log, named by the object's id.
    const poolFiles = files.filter(({ path }) => /-KeyPool[/\\][0-9a-f]{64}\.sqlite/.test(path));
    expect(poolFiles.length, files.map(({ path }) => path).join("\n")).toBeGreaterThan(0);

    const secrets = new Map(values.map((value, i) => [`imported value ${i}`, value]));
    for (const id of generatedIds) secrets.set(`generated value of ${id}`, read.get(id) as string);
    expect(occurrences(files, secrets)).toEqual([]);
    // Nor in what the server printed (its log lines, which name every key it handed out).
    const output = server.output();
    expect(output).toContain(importedIds[0]);
    expect(occurrences([{ path: "wrangler dev output", bytes: Buffer.from(output) }], secrets)).toEqual([]);
    for (const id of generatedIds) {
      expect(files.some(({ bytes }) => bytes.includes(uuidBytes(read.get(id) as string)))).toBe(false);
    }

    // The scan would notice: what the pool stores in the clear by design is found in its database.
    // The key ids are stored as 16-byte blobs (as a generated value would be, unsealed) and the
    // labels as text, which the same forms find.
    for (const id of [...importedIds, ...generatedIds]) {
      expect(
        poolFiles.some(({ bytes }) => bytes.includes(uuidBytes(id))),
        `key id ${id}`,
      ).toBe(true);
    }
    const labelHits = occurrences(poolFiles, new Map(labels.map((label, i) => [`label ${i}`, label])));
    for (let i = 0; i < labels.length; i++)
      expect(labelHits).toContainEqual(expect.stringMatching(`label ${i} as UTF-8$`));
  }, 120_000);

  it("importing needs a key: without one, an import answers 503 naming KEY_ENCRYPTION_KEY and makes no pool", async () => {
    const server = await start({ ...TOKEN_VARS, ...LONG_TTL });
    const pool = "no-encryption-key";
    const imported = await api(server.origin, "POST", `/pools/${pool}/keys`, {
      json: { keys: [{ key: apiKeyValue() }] },
    });
    expect(imported.status).toBe(503);
    expect(imported.body.error).toContain("KEY_ENCRYPTION_KEY");
    expect(await api(server.origin, "GET", `/pools/${pool}`)).toEqual({ status: 404, body: { error: "No such pool" } });
    // Generated keys need no encryption key.
    expect((await api(server.origin, "POST", `/pools/${pool}-generated/keys`, { json: { count: 2 } })).status).toBe(
      201,
    );
    await server.stop();
  }, 90_000);

  it("npm start imports with no setup, and a key configured later takes the values over", async () => {
    const dir = ownedDir();
    const pool = "local";
    const local = { LOCAL_DEV_NO_AUTH: "true", ...LONG_TTL };
    const devKey = createHash("sha256").update(LOCAL_DEV_KEY_TEXT).digest().toString("base64");
    const values = [apiKeyValue(), serviceAccountValue(), shortValue()];

    let server = await start(local, dir);
    const imported = await api(server.origin, "POST", `/pools/${pool}/keys`, {
      json: { keys: values.map((key) => ({ key })) },
    });
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);
    expect(await encryptionOf(server.origin, pool)).toEqual({
      sealingKey: fingerprintOf(devKey),
      localDevelopmentKey: true,
      values: [{ sealedBy: fingerprintOf(devKey), values: 3, available: true }],
      toReseal: 0,
      unavailable: 0,
    });
    const ids: string[] = imported.body.keyIds;
    const read = await readEveryValue(server.origin, pool, values.length);
    expect(ids.map((id) => read.get(id))).toEqual(values);
    await server.stop();

    // A developer sets a real key: what the development key sealed is sealed anew under it.
    const key = newEncryptionKey();
    server = await start({ ...local, KEY_ENCRYPTION_KEY: key }, dir);
    await waitUntilSealedUnder(server.origin, pool, fingerprintOf(key), values.length);
    expect(await readEveryValue(server.origin, pool, values.length)).toEqual(read);
    await server.stop();
  }, 120_000);
});
