import { contentJson } from "chanfana";
import { z } from "zod";
import type { Access } from "../access-openapi";
import { requireAdmin } from "../auth";
import { errorResponses, PoolRoute, unwrap } from "../route";
import { BlockResult, KeyId, UpdateBody } from "../schemas";

export class UpdateKey extends PoolRoute {
  protected override readonly access: Access = "client-with-lease";

  override schema = {
    operationId: "updateKey",
    tags: ["Keys"],
    summary: "Unblock (`blocked: false`) or block (`blocked: true`) a key",
    description:
      "Blocking a free key starts a new block (auto-released after BLOCK_TTL_SECONDS) and answers its " +
      "`lease`. With `lease`, the call acts only for the current holder: unblock releases the block, " +
      "block renews it. Blocking a key that is already blocked without its lease answers 409.",
    request: { params: z.object({ id: KeyId }), body: { ...contentJson(UpdateBody), required: true } },
    responses: {
      "200": { description: "The key's state after the change", ...contentJson(BlockResult) },
      ...errorResponses(404, 409, 413, 415),
    },
  };

  override async handle() {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    // With the lease a client acts as the key's holder; without it the call takes or frees any key.
    if (body.lease === undefined) requireAdmin(this.args[0], "blocking or unblocking a key without its lease");
    return unwrap(await (await this.pool()).setBlocked(params.id, body.blocked, body.lease));
  }
}
