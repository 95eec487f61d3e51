import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { expect, it } from "vitest";
import { useFakeClock } from "../support/clock";
import { addKeys, adminWithLease, armedAlarm, freshPool } from "../support/pool";
import { KEY_TTL_MS } from "../support/timings";

it("keeps keys, blocks, leases and pending deadlines across an eviction", async () => {
  const clock = useFakeClock();
  const pool = freshPool();
  const ids = await addKeys(pool, 5);
  const held = await pool.assign();
  if (!held.ok) throw new Error("expected a key");
  const infoBefore = await Promise.all(ids.map((id) => pool.info(id)));
  const alarmBefore = await armedAlarm(pool);

  await evictDurableObject(pool);

  expect(await Promise.all(ids.map((id) => pool.info(id)))).toEqual(infoBefore);
  expect(await armedAlarm(pool)).toBe(alarmBefore);
  // The holder's lease still works, and fencing numbers keep growing after the restart.
  expect(await pool.setBlocked(held.value.keyId, false, adminWithLease(held.value.lease))).toMatchObject({ ok: true });
  const next = await pool.assign();
  expect(next.ok && next.value.lease).toBeGreaterThan(held.value.lease);

  // The deadlines still fire after the restart.
  await evictDurableObject(pool);
  clock.advance(KEY_TTL_MS);
  await runDurableObjectAlarm(pool);
  expect(await Promise.all(ids.map((id) => pool.info(id)))).toEqual(
    ids.map(() => ({ ok: false, refusal: "not_found" })),
  );
});
