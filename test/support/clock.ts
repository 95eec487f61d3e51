import { afterEach } from "vitest";
import { clock } from "../../src/clock";

/**
 * A fake clock for the pool, shared by the test and the Durable Objects (they run in the same
 * isolate under @cloudflare/vitest-plugin). It starts at the real time, so alarms the objects arm
 * lie in the real future and fire only when a test runs them with `runDurableObjectAlarm`.
 */
export class FakeClock {
  constructor(public nowMs: number = Date.now()) {}

  now = (): number => this.nowMs;

  advance(ms: number): number {
    this.nowMs += ms;
    return this.nowMs;
  }

  set(ms: number): void {
    this.nowMs = ms;
  }
}

const realNow = clock.now;

/** Installs a fake clock for the current test; it is removed again after the test. */
export function useFakeClock(start?: number): FakeClock {
  const fake = new FakeClock(start);
  clock.now = fake.now;
  return fake;
}

afterEach(() => {
  clock.now = realNow;
});
