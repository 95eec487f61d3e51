import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      // Tests move time with an injected clock, never by waiting, so the real TTLs stay as deployed.
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // Generous for a loaded 2-core CI machine; no test waits on time (the clock is injected).
    testTimeout: 30_000,
  },
});
