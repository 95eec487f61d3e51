import { ADMIN_ONLY } from "../access";
import { endpoint, unwrap } from "../route";
import { BlockResult, KeyParams, UpdateBody } from "../schemas";

export const UpdateKey = endpoint({
  method: "put",
  path: "/keys/:id",
  operationId: "updateKey",
  tags: ["Keys"],
  summary: "Unblock (`blocked: false`) or block (`blocked: true`) a key",
  description:
    "Blocking a free key starts a new block (auto-released after BLOCK_TTL_SECONDS) and answers its " +
    "`lease`. With `lease`, the call acts only for the current holder: unblock releases the block, " +
    "block renews it. Blocking a key that is already blocked without its lease answers 409.",
  access: "client-with-lease",
  request: { params: KeyParams, body: { schema: UpdateBody, required: true } },
  success: { status: 200, description: "The key's state after the change", schema: BlockResult },
  refusals: ["not_found", "lease_conflict", "held"],

  async handle({ params, body }, call) {
    // With the lease a client acts as the key's holder; without it the call takes or frees any key.
    if (body.lease === undefined) call.requireAdmin(ADMIN_ONLY["client-with-lease"]);
    return unwrap(await call.pool().setBlocked(params.id, body.blocked, body.lease));
  },
});
