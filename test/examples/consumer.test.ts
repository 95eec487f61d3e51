import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import consumer from "../../examples/consumer/src/index";
import { CLIENT_TOKEN, testClient } from "../support/client";
import { uniquePool } from "../support/http";

/** The binding the test configuration gives this Worker: a service binding to KeyPool itself. */
const KEYPOOL = (env as unknown as { KEYPOOL: Fetcher }).KEYPOOL;

function sign(pool: string, body: string): Promise<Response> {
  const request = new Request("https://consumer.example/sign", { method: "POST", body });
  return consumer.fetch(request, { KEYPOOL, KEYPOOL_TOKEN: CLIENT_TOKEN, KEYPOOL_POOL: pool });
}

it("the example consumer Worker holds a pooled key through the service binding and releases it", async () => {
  const pool = uniquePool();
  const admin = testClient({ pool });
  const { keyId } = await admin.createKey();
  const { key } = await admin.getKey(keyId);

  const response = await sign(pool, "hello");
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { keyId: string; signature: string };
  expect(answer.keyId).toBe(keyId);
  expect(JSON.stringify(answer)).not.toContain(key); // the key value never leaves the consumer

  // The signature really used the pooled key.
  const hmac = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const mac = Uint8Array.from(answer.signature.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  expect(await crypto.subtle.verify("HMAC", hmac, mac, new TextEncoder().encode("hello"))).toBe(true);

  // Released at the end of the request: the key is free for the next one.
  expect((await admin.info(keyId)).isBlocked).toBe(false);
  expect((await (await sign(pool, "again")).json()) as object).toMatchObject({ keyId });
});

it("the example consumer answers 503 with Retry-After when no key is free", async () => {
  const pool = uniquePool();
  const admin = testClient({ pool });
  const { keyId } = await admin.createKey();
  await admin.block(keyId);
  const response = await sign(pool, "x");
  expect(response.status).toBe(503);
  expect(response.headers.get("retry-after")).toBe("1");
});
