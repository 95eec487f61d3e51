/// <reference types="vite/client" />
import { expect, it } from "vitest";

// The client's own source, as text (Vite's raw import), to check what it depends on at run time.
const sources = import.meta.glob<string>("../../packages/client/src/*.ts", {
  query: "?raw",
  import: "default",
  eager: true,
});

it("the client imports nothing but its own modules, types included, so its package stands alone", () => {
  expect(Object.keys(sources).length).toBeGreaterThan(5);
  for (const [file, text] of Object.entries(sources)) {
    const imports = [...text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms)];
    for (const [statement, , , from] of imports) {
      // Relative with the .js a Node ESM import needs; type imports too, for the published .d.ts.
      expect(from, `${file}: ${statement}`).toMatch(/^\.\/[\w-]+\.js$/);
    }
    expect(text, file).not.toMatch(/\bimport\s*\(|\brequire\s*\(/);
  }
});

it("the client uses no API that only one runtime has", () => {
  const runtimeSpecific =
    /cloudflare:|\bprocess\.|\bBuffer\b|\bHTMLRewriter\b|\bWebSocketPair\b|\bcaches\b|\bwindow\.|\bdocument\./;
  for (const [file, text] of Object.entries(sources)) expect(text, file).not.toMatch(runtimeSpecific);
});
