import { contentJson } from "chanfana";
import { z } from "zod";
import { errorResponses, PoolRoute, unwrap } from "../route";
import { KeyId, KeyInfo } from "../schemas";

export class GetKeyInfo extends PoolRoute {
  override schema = {
    operationId: "getKeyInfo",
    tags: ["Keys"],
    summary: "A key's state and deadlines (never its value)",
    request: { params: z.object({ id: KeyId }) },
    responses: {
      "200": { description: "The key's state", ...contentJson(KeyInfo) },
      ...errorResponses(404),
    },
  };

  override async handle() {
    const { params } = await this.getValidatedData<typeof this.schema>();
    return unwrap(await (await this.pool()).info(params.id));
  }
}
