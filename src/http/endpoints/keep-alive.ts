import * as z from "zod";
import { endpoint, unwrap } from "../route";
import { KeyInfo, KeyParams, Lease, LeaseTokenHeaders, queryNumber } from "../schemas";

export const KeepAlive = endpoint({
  method: "put",
  path: "/keys/:id/alive",
  operationId: "keepAlive",
  tags: ["Keys"],
  summary:
    "Keep a key alive: lastActivity = now, expiresAt = now + KEY_TTL (blocked keys too; null if keys do not expire)",
  access: "client",
  request: {
    params: KeyParams,
    query: z.strictObject({
      lease: queryNumber(Lease)
        .optional()
        .openapi({
          description:
            "When given, acts only if this is the key's current lease (else 409); a client giving it acts as the " +
            "holder and must send the block's KeyPool-Lease-Token too.",
        }),
    }),
    headers: LeaseTokenHeaders,
  },
  success: { status: 200, description: "The key's state after the keep-alive", schema: KeyInfo },
  refusals: ["no_such_pool", "not_found", "lease_conflict"],

  async handle({ params, query }, call) {
    const pool = await call.pool();
    return unwrap(await pool.keepAlive(params.id, await call.claim(query.lease)));
  },
});
