import { endpoint, unwrap } from "../route";
import { Deleted, KeyParams } from "../schemas";

export const DeleteKey = endpoint({
  method: "delete",
  path: "/keys/:id",
  operationId: "deleteKey",
  tags: ["Keys"],
  summary: "Remove a key for good (a blocked one too)",
  access: "admin",
  request: { params: KeyParams },
  success: { status: 200, description: "Deleted", schema: Deleted },
  refusals: ["no_such_pool", "not_found"],

  async handle({ params }, call) {
    const { keyId } = unwrap(await (await call.pool()).remove(params.id, await call.actor()));
    return { keyId, deleted: true as const };
  },
});
