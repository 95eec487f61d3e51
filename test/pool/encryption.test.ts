import { describe, expect, it } from "vitest";
import { canOpen, encryptionStatus, type Vault } from "../../src/pool/encryption";
import { hintOf } from "../../src/pool/limits";

const vault: Vault = { sealing: "aaaaaaaa", opens: new Set(["aaaaaaaa", "bbbbbbbb"]), local: false };

describe("what a pool reports of its encryption", () => {
  it("counts values still to seal under the sealing key, and those no configured key opens", () => {
    const sealed = new Map<string | null, number>([
      ["bbbbbbbb", 5],
      [null, 2],
      ["aaaaaaaa", 10],
      ["cccccccc", 3],
    ]);
    expect(encryptionStatus(vault, sealed)).toEqual({
      sealingKey: "aaaaaaaa",
      localDevelopmentKey: false,
      values: [
        { sealedBy: "aaaaaaaa", values: 10, available: true },
        { sealedBy: "bbbbbbbb", values: 5, available: true },
        { sealedBy: null, values: 2, available: true },
        { sealedBy: "cccccccc", values: 3, available: false },
      ],
      toReseal: 7,
      unavailable: 3,
    });
  });

  it("has nothing to seal without a sealing key: values stored as they are stay so", () => {
    const none: Vault = { sealing: null, opens: new Set(), local: false };
    expect(encryptionStatus(none, new Map([[null, 4]]))).toMatchObject({
      sealingKey: null,
      toReseal: 0,
      unavailable: 0,
    });
    expect(canOpen(none, null)).toBe(true);
    expect(canOpen(none, "aaaaaaaa")).toBe(false);
  });
});

describe("an imported value's hint", () => {
  it("is its last four characters, counted as characters, not UTF-16 units", () => {
    expect(hintOf("sk-live-0123456789abcd")).toBe("abcd");
    expect(hintOf("token-with-emoji-🔑🔑🔑🔑")).toBe("🔑🔑🔑🔑");
  });

  it("is none for a value shorter than 12 characters, of which 4 would give too much away", () => {
    expect(hintOf("12345678901")).toBeNull();
    expect(hintOf("123456789012")).toBe("9012");
    expect(hintOf("🔑".repeat(11))).toBeNull();
  });
});
