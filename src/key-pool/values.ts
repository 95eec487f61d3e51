import { open, seal, type ValuePlace, valueFingerprint } from "../crypto/sealing";
import type { ValueKey, ValueKeys } from "../crypto/value-keys";
import { logError } from "../log";
import { type Outcome, ok, refuse } from "../outcome";
import { canOpen, type Vault } from "../pool/encryption";
import { hintOf } from "../pool/limits";
import type { NewKey, StoredSecret } from "../pool/rules";
import type { Resealed, SealedRow } from "../storage/key-store";
import { bytesToUuid, uuidToBytes } from "../storage/uuid";
import type { PreparedImport, SecretOf } from "./pool";

/** A value to import, as the admin gave it. */
export interface ImportEntry {
  readonly key: string;
  readonly label?: string | undefined;
}

/**
 * One pool's values and its encryption keys: what the object seals before it stores a new key, opens
 * before it answers a value, and seals anew when the sealing key changes. All of it is WebCrypto,
 * asynchronous, so the object does it outside its synchronous transactions: before one (new keys) or
 * after one (values answered).
 */
export class PoolValues {
  readonly vault: Vault;

  constructor(
    private readonly pool: string,
    private readonly keys: ValueKeys,
  ) {
    this.vault = {
      sealing: keys.sealing?.fingerprint ?? null,
      opens: new Set(keys.byFingerprint.keys()),
      local: keys.sealing?.local ?? false,
    };
  }

  /** Whether imports can be sealed: a key is configured. */
  get canImport(): boolean {
    return this.keys.sealing !== null;
  }

  /** `count` new generated keys (random UUIDs), sealed when a key is configured, else stored as they are. */
  generated(count: number, label: string | null): Promise<NewKey[]> {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const keyId = crypto.randomUUID();
        const value = new Uint8Array(uuidToBytes(crypto.randomUUID()));
        return { keyId, secret: await this.#sealed(keyId, value), source: "generated", label, hint: null };
      }),
    );
  }

  /**
   * The entries as keys to import: sealed, with their keyed fingerprints under every key (the sealing
   * key's first). Every WebCrypto call of the batch is started at once and awaited together.
   */
  async imported(entries: readonly ImportEntry[]): Promise<PreparedImport[]> {
    const all = [...this.keys.byFingerprint.values()];
    const ids = entries.map(() => crypto.randomUUID());
    const encoder = new TextEncoder();
    const [secrets, ...fingerprints] = await Promise.all([
      Promise.all(entries.map(({ key }, i) => this.#sealed(ids[i] as string, encoder.encode(key)))),
      ...all.map((key) => Promise.all(entries.map((entry) => valueFingerprint(key, this.pool, entry.key)))),
    ]);
    return entries.map(({ key: value, label }, i) => ({
      key: {
        keyId: ids[i] as string,
        secret: secrets[i] as StoredSecret,
        source: "imported",
        label: label ?? null,
        hint: hintOf(value),
      },
      fingerprints: fingerprints.map((under) => under[i] as Uint8Array),
    }));
  }

  /** A stored value as text: refused when its key is gone, or when it does not open (it was moved or altered). */
  async open({ keyId, source, secret }: SecretOf): Promise<Outcome<string>> {
    let bytes = secret.bytes;
    if (secret.sealedBy !== null) {
      const key = this.keys.byFingerprint.get(secret.sealedBy);
      if (key === undefined) return refuse("value_key_missing", { about: secret.sealedBy });
      try {
        bytes = await open(key, bytes, this.#place(keyId));
      } catch {
        logError({ event: "value_unreadable", pool: this.pool, keyId, sealedBy: secret.sealedBy });
        return refuse("value_unreadable");
      }
    }
    return ok(source === "generated" ? bytesToUuid(bytes) : new TextDecoder().decode(bytes));
  }

  /**
   * The values of `rows` that are not sealed under the sealing key, sealed under it (with an imported
   * value's new fingerprint); values this object cannot open are left as they are and counted.
   */
  async resealed(rows: readonly SealedRow[]): Promise<{ values: Resealed[]; unopened: number }> {
    const sealing = this.keys.sealing;
    if (sealing === null) return { values: [], unopened: 0 };
    const stale = rows.filter((row) => row.secret.sealedBy !== sealing.fingerprint);
    const opened = stale.filter((row) => canOpen(this.vault, row.secret.sealedBy));
    const values = await Promise.all(opened.map((row) => this.#resealed(row, sealing)));
    const resealed = values.filter((value): value is Resealed => value !== null);
    return { values: resealed, unopened: stale.length - resealed.length };
  }

  async #resealed(row: SealedRow, sealing: ValueKey): Promise<Resealed | null> {
    const imported = row.fingerprint !== null;
    const source = imported ? "imported" : "generated";
    const plain = await this.open({ keyId: row.keyId, source, secret: row.secret });
    if (!plain.ok) return null;
    const bytes = imported ? new TextEncoder().encode(plain.value) : new Uint8Array(uuidToBytes(plain.value));
    const [secret, fingerprint] = await Promise.all([
      this.#sealedWith(sealing, row.keyId, bytes),
      imported ? valueFingerprint(sealing, this.pool, plain.value) : null,
    ]);
    return { keyId: row.keyId, from: row.secret.sealedBy, secret, fingerprint, oldFingerprint: row.fingerprint };
  }

  #sealed(keyId: string, value: Uint8Array): Promise<StoredSecret> {
    const sealing = this.keys.sealing;
    return sealing === null
      ? Promise.resolve({ bytes: value, sealedBy: null })
      : this.#sealedWith(sealing, keyId, value);
  }

  async #sealedWith(key: ValueKey, keyId: string, value: Uint8Array): Promise<StoredSecret> {
    return { bytes: await seal(key, value, this.#place(keyId)), sealedBy: key.fingerprint };
  }

  #place(keyId: string): ValuePlace {
    return { pool: this.pool, keyId };
  }
}
