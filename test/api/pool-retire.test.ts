import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { DIRECTORY_NAME } from "../../src/pool-directory";
import { CLIENT_TOKEN, call, uniquePool } from "../support/http";
import { expectOk } from "../support/keys";

it("retires a pool: nothing of it is left, it answers 404, and its name starts empty when made again", async () => {
  const pool = uniquePool();
  const created = expectOk(await call("POST", `/pools/${pool}/keys`, { json: { count: 3 } }), 201);
  const held = expectOk(await call("GET", `/pools/${pool}/keys`, { token: CLIENT_TOKEN }));
  expectOk(await call("PUT", `/pools/${pool}/settings`, { json: { keyTtlSeconds: 30 } }));

  expect(expectOk(await call("DELETE", `/pools/${pool}`))).toEqual({ pool, retired: true });

  const stub = env.KEY_POOL.getByName(pool);
  const left = await runInDurableObject(stub, async (_instance, state) => ({
    tables: state.storage.sql
      .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .toArray(),
    alarm: await state.storage.getAlarm(),
  }));
  expect(left).toEqual({ tables: [], alarm: null });
  expect(await env.POOL_DIRECTORY.getByName(DIRECTORY_NAME).exists(pool)).toBe(false);
  expect(await call("GET", `/pools/${pool}`)).toMatchObject({ status: 404, body: { error: "No such pool" } });
  for (const path of [`/pools/${pool}/keys`, `/pools/${pool}/keys/${held.keyId}/info`]) {
    expect(await call("GET", path, { token: CLIENT_TOKEN })).toMatchObject({
      status: 404,
      body: { error: "No such pool" },
    });
  }
  expect(await call("DELETE", `/pools/${pool}`)).toMatchObject({ status: 404 });

  // Made again: empty, on the defaults, with none of the old keys.
  expectOk(await call("POST", `/pools/${pool}/keys`), 201);
  const stats = expectOk(await call("GET", `/pools/${pool}`));
  expect(stats).toMatchObject({
    keys: { total: 1 },
    counters: { created: 1, assigned: 0 },
    settings: { keyTtlSeconds: 300 },
  });
  for (const keyId of created.keyIds) {
    expect(await call("GET", `/pools/${pool}/keys/${keyId}/info`)).toMatchObject({ status: 404 });
  }
});
