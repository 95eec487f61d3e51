import fc from "fast-check";
import { it } from "vitest";
import { useFakeClock } from "../support/clock";
import { DurablePool } from "../support/durable-pool";
import { PoolModel } from "../support/model";
import { poolCommands, Tally } from "../support/model-commands";
import { madePool } from "../support/pool";
import { scaled } from "../support/scale";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "../support/timings";

// A year ahead of real time: every alarm the pools arm lies in the real future, so workerd never
// fires one by itself and only the model's alarm commands deliver them.
const T0 = Date.now() + 365 * 24 * 3600 * 1000;

/**
 * The model test of the real object, under the pool's default settings or with a lock-delay (a block
 * that runs out cools its key 2.5 s) and a cooldown of 1.5 s and two failures, so that cooldowns end
 * and lock-delays pass within the sequences' times.
 */
const VARIANTS = [
  { name: "default settings", settings: {}, model: [] as number[] },
  {
    name: "a lock-delay, a short cooldown and two failures",
    settings: { lockDelaySeconds: 2.5, cooldownSeconds: 1.5, maxFailures: 2 },
    model: [2_500, 1_500, 2],
  },
];

it.each(VARIANTS)(
  "the Durable Object agrees with the reference model over random operations, alarms, failing alarms and evictions: $name",
  async ({ name, settings, model }) => {
    const clock = useFakeClock(T0);
    const tally = new Tally();
    const [lockDelay, cooldown, maxFailures] = model;
    await fc.assert(
      fc.asyncProperty(
        fc.commands(poolCommands({ faults: true, duplicates: true }), { maxCommands: 60, size: "max" }),
        async (commands) => {
          clock.set(T0);
          const stub = await madePool();
          await stub.updateSettings(settings);
          const reference = () => new PoolModel(T0, KEY_TTL_MS, BLOCK_TTL_MS, lockDelay, cooldown, maxFailures);
          await fc.asyncModelRun(() => ({ model: reference(), real: new DurablePool(stub, clock) }), commands);
          tally.add(commands);
        },
      ),
      { numRuns: scaled(100) },
    );
    console.log(`durable model (${name}): ${tally}`);
  },
  600_000,
);
