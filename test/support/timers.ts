import type { Timers } from "../../packages/client/src/timers.js";
import type { FakeClock } from "./clock";

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly callback: () => unknown;
}

/**
 * Timers for the client on the same fake clock as the pool (test/support/clock.ts). `advance` moves
 * time forward and fires every timer that falls due on the way, in order, setting the clock to each
 * one's time. Work a timer starts (a renewal's requests to the Worker) is awaited before time moves
 * on, and timers it sets meanwhile (a retry's backoff) fire as they fall due.
 */
export class FakeTimers implements Timers {
  #next = 1;
  #pending: Pending[] = [];
  #scheduled: (() => void) | undefined;

  constructor(readonly clock: FakeClock) {}

  now = (): number => this.clock.nowMs;

  setTimeout(callback: () => unknown, ms: number): number {
    const id = this.#next++;
    this.#pending.push({ id, at: this.clock.nowMs + Math.max(0, ms), callback });
    this.#scheduled?.();
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending = this.#pending.filter((p) => p.id !== handle);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Moves time forward by `ms`, firing and awaiting whatever falls due. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.nowMs + ms;
    const running = new Set<Promise<unknown>>();
    for (let fired = 0; ; ) {
      const due = this.#pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due !== undefined) {
        if (++fired > 10_000) throw new Error("FakeTimers: over 10,000 timers fired in one advance; a loop?");
        this.#pending = this.#pending.filter((p) => p !== due);
        if (due.at > this.clock.nowMs) this.clock.set(due.at);
        const result = due.callback();
        if (result instanceof Promise) {
          const tracked = result.finally(() => running.delete(tracked));
          running.add(tracked);
        }
        continue;
      }
      if (running.size === 0) break;
      // Wait until the running work finishes or sets a timer of its own.
      const scheduled = new Promise<void>((resolve) => {
        this.#scheduled = resolve;
      });
      await Promise.race([Promise.allSettled([...running]), scheduled]);
      this.#scheduled = undefined;
    }
    this.clock.set(end);
  }
}
