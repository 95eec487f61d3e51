import fc from "fast-check";
import { it } from "vitest";
import { useFakeClock } from "../support/clock";
import { DurablePool } from "../support/durable-pool";
import { PoolModel } from "../support/model";
import { poolCommands, Tally } from "../support/model-commands";
import { madePool } from "../support/pool";
import { scaled } from "../support/scale";

// A year ahead of real time: every alarm the pools arm lies in the real future, so workerd never
// fires one by itself and only the model's alarm commands deliver them.
const T0 = Date.now() + 365 * 24 * 3600 * 1000;

it("the Durable Object agrees with the reference model over random operations, alarms, failing alarms and evictions", async () => {
  const clock = useFakeClock(T0);
  const tally = new Tally();
  await fc.assert(
    fc.asyncProperty(
      fc.commands(poolCommands({ faults: true, duplicates: true }), { maxCommands: 60, size: "max" }),
      async (commands) => {
        clock.set(T0);
        const stub = await madePool();
        await fc.asyncModelRun(() => ({ model: new PoolModel(T0), real: new DurablePool(stub, clock) }), commands);
        tally.add(commands);
      },
    ),
    { numRuns: scaled(150) },
  );
  console.log(`durable model: ${tally}`);
}, 600_000);
