import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Multiplies the run counts of the model, fuzz, mass-expiry and load tests (`npm run test:long`).
const testScale = Number(process.env.KEYPOOL_TEST_SCALE ?? "1");
if (!(testScale > 0)) {
  throw new Error(`KEYPOOL_TEST_SCALE must be a positive number, got "${process.env.KEYPOOL_TEST_SCALE}"`);
}

export default defineConfig({
  test: {
    provide: { testScale },
    // The pool logs one structured object per state change; show them only for a failing test.
    silent: "passed-only",
    projects: [
      {
        extends: true,
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Tests move time with an injected clock, never by waiting, so the real TTLs stay as deployed.
            miniflare: {
              // Test-only tokens (never deployed); test/support/http.ts reads them back from `env`. Each
              // secret holds two, as during a rotation.
              bindings: {
                ADMIN_TOKEN: "test-admin-token-aaaaaaaaaaaa,test-admin-token-bbbbbbbbbbbb",
                CLIENT_TOKEN: "test-client-token-aaaaaaaaaaa,test-client-token-bbbbbbbbbbb",
                // Test-only encryption keys, as during a rotation: the first seals, both open.
                KEY_ENCRYPTION_KEY:
                  "RqA1nGXG2t6aVIygZOkF7Ua+yuytDcYw4nVbvL6CrCs=,Fvuc4FGMZJRPXHktBWlMB8RZol2bZrA0rtEQ5d9rRsw=",
              },
              // A second limiter with a limit a test reaches in a few requests; the tests that need it put
              // it in place of RATE_LIMITER, so no other test ever comes near the deployed limit.
              ratelimits: { TIGHT_RATE_LIMITER: { namespace_id: "1002", simple: { limit: 3, period: 60 } } },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**", "test/node/**"],
          // Generous for a loaded 2-core CI machine; no test waits on time (the clock is injected).
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        // Checks that need Node and no server, such as linting the OpenAPI document.
        test: { name: "node", include: ["test/node/**/*.test.ts"], environment: "node", testTimeout: 60_000 },
      },
      {
        extends: true,
        // Browser tests drive a real `wrangler dev` with Chromium from Node, outside workerd.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // A page's answer to a click waits on a real server and browser sharing a loaded machine
          // with the other e2e files: 1 s (the default) was seen to run out.
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
