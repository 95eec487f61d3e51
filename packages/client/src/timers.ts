/**
 * The clock and timers the client schedules with. The default is the platform's; tests inject fake
 * ones to run hours of lease renewals in milliseconds.
 */
export interface Timers {
  now(): number;
  /** Calls `callback` after `ms`. A promise it returns is the work the timer started (tests await it). */
  setTimeout(callback: () => unknown, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const platformTimers: Timers = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const handle: unknown = globalThis.setTimeout(callback, ms);
    // In Node, background renewal must not keep a finished process alive; the block then just expires.
    (handle as { unref?: () => void } | null)?.unref?.();
    return handle;
  },
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

/** Resolves after `ms` on `timers`. */
export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}
