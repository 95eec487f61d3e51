/**
 * An example consumer of KeyPool: a Worker that signs requests for an upstream API with a pooled
 * key. It reaches KeyPool through a service binding, holds one key per request with `await using`
 * (released even when signing fails), and never shows the key value.
 */
import { KeyPoolClient, KeyPoolError } from "@keypool/client";

export interface ConsumerEnv {
  /** Service binding to the KeyPool Worker. */
  readonly KEYPOOL: Fetcher;
  /** A KeyPool client token (a secret); unset for a KeyPool without auth. */
  readonly KEYPOOL_TOKEN?: string;
  readonly KEYPOOL_POOL?: string;
}

export default {
  async fetch(request: Request, env: ConsumerEnv): Promise<Response> {
    if (request.method !== "POST") return Response.json({ error: "POST a body to sign" }, { status: 405 });
    const keypool = new KeyPoolClient({
      baseUrl: "https://keypool.internal", // any origin: the binding ignores it
      token: env.KEYPOOL_TOKEN,
      pool: env.KEYPOOL_POOL,
      fetch: env.KEYPOOL,
    });
    try {
      await using lease = await keypool.acquire({ holdSeconds: 30 });
      const signature = await sign(lease.key, await request.arrayBuffer());
      return Response.json({ keyId: lease.keyId, signature });
    } catch (error) {
      if (error instanceof KeyPoolError && error.status === 404) {
        return Response.json(
          { error: "No key is free; try again shortly" },
          { status: 503, headers: { "retry-after": "1" } },
        );
      }
      throw error;
    }
  },
} satisfies ExportedHandler<ConsumerEnv>;

/** HMAC-SHA-256 of `body` under `key`, hex: stands in for whatever the key is really for. */
async function sign(key: string, body: ArrayBuffer): Promise<string> {
  const hmac = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, body));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}
