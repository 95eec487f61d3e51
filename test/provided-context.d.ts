// What vitest.config.ts provides to every test (`inject("testScale")`), in the workers and e2e projects.
declare module "vitest" {
  export interface ProvidedContext {
    /** Multiplies the run counts of the model, fuzz, mass-expiry and load tests (`npm run test:long`). */
    testScale: number;
  }
}

export {};
