import { contentJson } from "chanfana";
import { z } from "zod";
import { errorResponses, PoolRoute, unwrap } from "../route";
import { KeyId, KeyInfo, Lease } from "../schemas";

export class KeepAlive extends PoolRoute {
  override schema = {
    operationId: "keepAlive",
    tags: ["Keys"],
    summary: "Keep a key alive: lastActivity = now, expiresAt = now + KEY_TTL (blocked keys too)",
    request: {
      params: z.object({ id: KeyId }),
      query: z.strictObject({
        lease: Lease.optional().openapi({
          description: "When given, acts only if this is the key's current lease (else 409).",
        }),
      }),
    },
    responses: {
      "200": { description: "The key's state after the keep-alive", ...contentJson(KeyInfo) },
      ...errorResponses(404, 409),
    },
  };

  override async handle() {
    const { params, query } = await this.getValidatedData<typeof this.schema>();
    return unwrap(await (await this.pool()).keepAlive(params.id, query.lease));
  }
}
