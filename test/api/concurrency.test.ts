import { expect, it } from "vitest";
import { call, uniquePool } from "../support/http";

it("never hands one key to two of many simultaneous assignments", async () => {
  const pool = `/pools/${uniquePool()}/keys`;
  const keys = 40;
  await call("POST", pool, { json: { count: keys } });

  const answers = await Promise.all(Array.from({ length: 150 }, () => call("GET", pool)));

  const granted = answers.filter((a) => a.status === 200).map((a) => a.body);
  expect(granted).toHaveLength(keys);
  expect(new Set(granted.map((g) => g.keyId)).size).toBe(keys);
  expect(new Set(granted.map((g) => g.lease)).size).toBe(keys);
  expect(answers.filter((a) => a.status === 404)).toHaveLength(150 - keys);
});
