/**
 * A set of 16-byte blobs in memory (a pool's free key ids; its imported values' fingerprints): a
 * dense array, so a uniform pick is one index, and an open-addressing hash index from blob to
 * position, so a blob joins or leaves in O(1) (swap-remove). Typed arrays, not strings in a Map: 16
 * bytes per blob plus 8 to 16 bytes of index, about 30 MB for a million where JS strings and Map
 * entries would take several times that. The blobs are random (UUIDv4 ids, HMAC outputs), so their
 * first four bytes are a good hash as they are.
 *
 * It only speeds things up: SQLite stays the truth (a free key is one with no `release_at`, an
 * imported one has a `fingerprint`), and the set is rebuilt from it whenever the object starts or a
 * transaction fails.
 */
export class BlobSet {
  /** Ids at positions 0..size-1, 16 bytes each. */
  #ids: Uint8Array = new Uint8Array(16 * 64);
  /** What each id maps to, at the same position: `payloadBytes` each (none for a plain set). */
  #payloads: Uint8Array;
  #size = 0;
  /** Hash table: position + 1 of the id that hashes here, 0 for an empty slot; a power of two, at most half full. */
  #slots = new Int32Array(128);

  /** With `payloadBytes`, a map: each blob carries that many bytes (a fingerprint, the id of its key). */
  constructor(private readonly payloadBytes = 0) {
    this.#payloads = new Uint8Array(payloadBytes * 64);
  }

  get size(): number {
    return this.#size;
  }

  has(id: Uint8Array): boolean {
    return this.#slots[this.#find(id)] !== 0;
  }

  /** What `id` carries (a copy), or null when it is not in. */
  payloadOf(id: Uint8Array): Uint8Array | null {
    const entry = this.#slots[this.#find(id)] as number;
    if (entry === 0) return null;
    const offset = (entry - 1) * this.payloadBytes;
    return this.#payloads.slice(offset, offset + this.payloadBytes);
  }

  /** Adds `id` (16 bytes), carrying `payload` in a map; false if it was already in. */
  add(id: Uint8Array, payload?: Uint8Array): boolean {
    const slot = this.#find(id);
    if (this.#slots[slot] !== 0) return false;
    if ((this.#size + 1) * 16 > this.#ids.length) this.#ids = grown(this.#ids);
    this.#ids.set(id, this.#size * 16);
    if (this.payloadBytes > 0) {
      if (payload?.byteLength !== this.payloadBytes) throw new RangeError(`a payload is ${this.payloadBytes} bytes`);
      if ((this.#size + 1) * this.payloadBytes > this.#payloads.length) this.#payloads = grown(this.#payloads);
      this.#payloads.set(payload, this.#size * this.payloadBytes);
    }
    this.#size++;
    if (this.#size * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    else this.#slots[slot] = this.#size;
    return true;
  }

  /** Removes `id`; false if it was not in. The last id takes its position. */
  delete(id: Uint8Array): boolean {
    const slot = this.#find(id);
    const entry = this.#slots[slot] as number;
    if (entry === 0) return false;
    this.#clear(slot);
    const position = entry - 1;
    const last = this.#size - 1;
    if (position !== last) {
      this.#ids.copyWithin(position * 16, last * 16, last * 16 + 16);
      const width = this.payloadBytes;
      this.#payloads.copyWithin(position * width, last * width, last * width + width);
      this.#slots[this.#find(this.#ids.subarray(position * 16, position * 16 + 16))] = position + 1;
    }
    this.#size--;
    return true;
  }

  /** A copy of the id at `position`, 0 <= position < size. */
  at(position: number): Uint8Array {
    if (!Number.isInteger(position) || position < 0 || position >= this.#size) {
      throw new RangeError(`no free key at position ${position} of ${this.#size}`);
    }
    return this.#ids.slice(position * 16, position * 16 + 16);
  }

  /** The slot that holds `id`, or the empty slot where it would go. */
  #find(id: Uint8Array): number {
    const mask = this.#slots.length - 1;
    for (let slot = hash(id, 0) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot] as number;
      if (entry === 0 || this.#holds(entry - 1, id)) return slot;
    }
  }

  #holds(position: number, id: Uint8Array): boolean {
    const offset = position * 16;
    for (let i = 0; i < 16; i++) if (this.#ids[offset + i] !== id[i]) return false;
    return true;
  }

  /** Empties `slot`, moving back the entries after it that probing would no longer reach (no tombstones). */
  #clear(slot: number): void {
    const mask = this.#slots.length - 1;
    let hole = slot;
    for (let next = (hole + 1) & mask; this.#slots[next] !== 0; next = (next + 1) & mask) {
      const home = hash(this.#ids, ((this.#slots[next] as number) - 1) * 16) & mask;
      // The entry at `next` may move into the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      this.#slots[hole] = this.#slots[next] as number;
      hole = next;
    }
    this.#slots[hole] = 0;
  }

  #rehash(length: number): void {
    this.#slots = new Int32Array(length);
    const mask = length - 1;
    for (let position = 0; position < this.#size; position++) {
      let slot = hash(this.#ids, position * 16) & mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
      this.#slots[slot] = position + 1;
    }
  }
}

/** The first four bytes at `offset`, as an unsigned integer. */
function hash(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] as number) << 24) |
      ((bytes[offset + 1] as number) << 16) |
      ((bytes[offset + 2] as number) << 8) |
      (bytes[offset + 3] as number)) >>>
    0
  );
}

function grown(ids: Uint8Array): Uint8Array {
  const bigger = new Uint8Array(ids.length * 2);
  bigger.set(ids);
  return bigger;
}
