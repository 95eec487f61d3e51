import { endpoint, unwrap } from "../route";
import { KeyParams, KeyValue } from "../schemas";

export const GetKey = endpoint({
  method: "get",
  path: "/keys/:id",
  operationId: "getKey",
  tags: ["Keys"],
  summary: "Get a key's value if it is usable (not blocked); changes nothing",
  access: "client",
  request: { params: KeyParams },
  success: { status: 200, description: "The key's value", schema: KeyValue },
  refusals: ["blocked", "not_found"],

  async handle({ params }, call) {
    return unwrap(await call.pool().reveal(params.id));
  },
});
