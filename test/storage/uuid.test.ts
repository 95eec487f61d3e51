import { describe, expect, it } from "vitest";
import { isKeyId } from "../../src/pool/rules";
import { bytesToUuid, uuidToBytes } from "../../src/storage/uuid";

describe("uuid storage form", () => {
  it("round-trips random UUIDs through 16 bytes", () => {
    for (let i = 0; i < 100; i++) {
      const id = crypto.randomUUID();
      const bytes = uuidToBytes(id);
      expect(bytes.byteLength).toBe(16);
      expect(bytesToUuid(bytes)).toBe(id);
    }
  });

  it("reads upper-case ids as the same key", () => {
    const id = crypto.randomUUID();
    expect(bytesToUuid(uuidToBytes(id.toUpperCase()))).toBe(id);
  });

  it.each(["", "not-a-uuid", "7f1c2a9e4b0d4c599a3e2f6d8b1e5c40", "7f1c2a9e-4b0d-4c59-9a3e-2f6d8b1e5c4g", "../keys"])(
    "does not take %j for a UUID",
    (text) => expect(isKeyId(text)).toBe(false),
  );
});
