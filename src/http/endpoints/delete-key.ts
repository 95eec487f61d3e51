import { contentJson } from "chanfana";
import { z } from "zod";
import type { Access } from "../access-openapi";
import { errorResponses, PoolRoute, unwrap } from "../route";
import { Deleted, KeyId } from "../schemas";

export class DeleteKey extends PoolRoute {
  protected override readonly access: Access = "admin";

  override schema = {
    operationId: "deleteKey",
    tags: ["Keys"],
    summary: "Remove a key for good (a blocked one too)",
    request: { params: z.object({ id: KeyId }) },
    responses: {
      "200": { description: "Deleted", ...contentJson(Deleted) },
      ...errorResponses(404),
    },
  };

  override async handle() {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const { keyId } = unwrap(await (await this.pool()).remove(params.id));
    return { keyId, deleted: true };
  }
}
