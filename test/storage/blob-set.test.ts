import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlobSet } from "../../src/storage/blob-set";
import { bytesToUuid, uuidToBytes } from "../../src/storage/uuid";
import { scaled } from "../support/scale";

const bytes = (id: string) => new Uint8Array(uuidToBytes(id));

/** Every id the set holds, read through its positions. */
function members(set: BlobSet): string[] {
  return Array.from({ length: set.size }, (_, position) => bytesToUuid(set.at(position)));
}

describe("the in-memory set of free keys", () => {
  it("behaves like a set of ids, its positions 0..size-1 holding each member once", () => {
    // Ids from a small pool, so adds and deletes often hit the same ones; some share their first four
    // bytes (the hash), so collisions and the backward shift on delete are exercised too.
    const pool = Array.from({ length: 24 }, (_, i) => {
      const id = crypto.randomUUID();
      return i % 3 === 0 ? `0000abcd${id.slice(8)}` : id;
    });
    const command = fc.record({ add: fc.boolean(), index: fc.nat({ max: pool.length - 1 }) });
    fc.assert(
      fc.property(fc.array(command, { maxLength: 400 }), (commands) => {
        const set = new BlobSet();
        const model = new Set<string>();
        for (const { add, index } of commands) {
          const id = pool[index] as string;
          expect(add ? set.add(bytes(id)) : set.delete(bytes(id))).toBe(add ? !model.has(id) : model.has(id));
          if (add) model.add(id);
          else model.delete(id);
          expect(set.size).toBe(model.size);
        }
        expect(members(set).sort()).toEqual([...model].sort());
        for (const id of pool) expect(set.has(bytes(id))).toBe(model.has(id));
      }),
      { numRuns: scaled(300) },
    );
  });

  it("grows past its first capacity and shrinks back without losing a member", () => {
    const set = new BlobSet();
    const ids = Array.from({ length: 5_000 }, () => crypto.randomUUID());
    for (const id of ids) expect(set.add(bytes(id))).toBe(true);
    expect(set.size).toBe(5_000);
    for (const id of ids.slice(0, 4_000)) expect(set.delete(bytes(id))).toBe(true);
    expect(members(set).sort()).toEqual(ids.slice(4_000).sort());
    for (const id of ids.slice(0, 4_000)) expect(set.has(bytes(id))).toBe(false);
  });

  it("refuses a position outside 0..size-1", () => {
    const set = new BlobSet();
    set.add(bytes(crypto.randomUUID()));
    expect(() => set.at(1)).toThrow(RangeError);
    expect(() => set.at(-1)).toThrow(RangeError);
  });
});
