import * as z from "zod";
import { endpoint, unwrap } from "../route";
import { KeyInfo, KeyParams, Lease, queryNumber } from "../schemas";

export const KeepAlive = endpoint({
  method: "put",
  path: "/keys/:id/alive",
  operationId: "keepAlive",
  tags: ["Keys"],
  summary: "Keep a key alive: lastActivity = now, expiresAt = now + KEY_TTL (blocked keys too)",
  access: "client",
  request: {
    params: KeyParams,
    query: z.strictObject({
      lease: queryNumber(Lease).optional().openapi({
        description: "When given, acts only if this is the key's current lease (else 409).",
      }),
    }),
  },
  success: { status: 200, description: "The key's state after the keep-alive", schema: KeyInfo },
  refusals: ["not_found", "lease_conflict"],

  async handle({ params, query }, call) {
    return unwrap(await call.pool().keepAlive(params.id, query.lease));
  },
});
