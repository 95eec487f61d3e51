import { expect, it } from "vitest";
import { call, uniquePool } from "../support/http";

it("creates, assigns and reads a key", async () => {
  const pool = `/pools/${uniquePool()}/keys`;
  const created = await call("POST", pool);
  expect(created.status).toBe(201);
  const assigned = await call("GET", pool);
  expect(assigned.status).toBe(200);
  expect(assigned.body.keyId).toBe(created.body.keyId);
});
