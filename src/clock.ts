/**
 * The one clock KeyPool reads, in milliseconds since the epoch. Production never changes it; tests
 * replace `now` to move time deterministically (test/support/clock.ts) and drive alarms with
 * `runDurableObjectAlarm` instead of sleeping.
 */
export const clock = { now: (): number => Date.now() };
