import { endpoint, unwrap } from "../route";
import { KeyInfo, KeyParams } from "../schemas";

export const GetKeyInfo = endpoint({
  method: "get",
  path: "/keys/:id/info",
  operationId: "getKeyInfo",
  tags: ["Keys"],
  summary: "A key's state and deadlines (never its value)",
  access: "client",
  request: { params: KeyParams },
  success: { status: 200, description: "The key's state", schema: KeyInfo },
  refusals: ["no_such_pool", "not_found"],

  async handle({ params }, call) {
    return unwrap(await (await call.pool()).info(params.id));
  },
});
