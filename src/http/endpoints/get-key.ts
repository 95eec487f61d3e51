import { contentJson } from "chanfana";
import { z } from "zod";
import { errorResponses, PoolRoute, unwrap } from "../route";
import { KeyId, KeyValue } from "../schemas";

export class GetKey extends PoolRoute {
  override schema = {
    operationId: "getKey",
    tags: ["Keys"],
    summary: "Get a key's value if it is usable (not blocked); changes nothing",
    request: { params: z.object({ id: KeyId }) },
    responses: {
      "200": { description: "The key's value", ...contentJson(KeyValue) },
      ...errorResponses(403, 404),
    },
  };

  override async handle() {
    const { params } = await this.getValidatedData<typeof this.schema>();
    return unwrap(await (await this.pool()).reveal(params.id));
  }
}
