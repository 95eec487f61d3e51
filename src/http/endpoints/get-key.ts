import { endpoint, unwrap } from "../route";
import { KeyParams, KeyValue, LeaseTokenHeaders } from "../schemas";

export const GetKey = endpoint({
  method: "get",
  path: "/keys/:id",
  operationId: "getKey",
  tags: ["Keys"],
  summary: "Get a key's value: a free key's (if the pool allows), or your own blocked key's; changes nothing",
  description:
    "The holder of a key's block reads it with the block's KeyPool-Lease-Token. Anyone else reads the value " +
    "of a generated key that is not blocked, unless the pool's `revealValues` setting is `holder` (then 403). " +
    "An imported key's value goes to the holder of its block only: anyone else, admins included, gets 403.",
  access: "client",
  request: { params: KeyParams, headers: LeaseTokenHeaders },
  success: { status: 200, description: "The key's value", schema: KeyValue },
  refusals: [
    "no_such_pool",
    "not_found",
    "blocked",
    "holder_only",
    "imported_value",
    "value_key_missing",
    "value_unreadable",
  ],

  async handle({ params }, call) {
    const pool = await call.pool();
    return unwrap(await pool.reveal(params.id, await call.claim()));
  },
});
