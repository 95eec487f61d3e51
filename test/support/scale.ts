import { inject } from "vitest";

/** `n` times KEYPOOL_TEST_SCALE (vitest.config.ts), so `npm run test:long` runs every suite larger. */
export function scaled(n: number): number {
  return Math.max(1, Math.round(n * inject("testScale")));
}
