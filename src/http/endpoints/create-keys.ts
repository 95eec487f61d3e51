import { contentJson } from "chanfana";
import type { Access } from "../access-openapi";
import { errorResponses, json, PoolRoute } from "../route";
import { CreateBody, Created, CreatedMany } from "../schemas";

export class CreateKeys extends PoolRoute {
  protected override readonly access: Access = "admin";

  override schema = {
    operationId: "createKeys",
    tags: ["Keys"],
    summary: "Create a key, or `count` keys in one transaction",
    request: { body: { ...contentJson(CreateBody.optional()), required: false } },
    responses: {
      "201": {
        description: 'Created: {"keyId"}, or {"keyIds": [...]} when `count` was given',
        ...contentJson(Created.or(CreatedMany)),
      },
      ...errorResponses(413, 415),
    },
  };

  override async handle() {
    const { body } = await this.getValidatedData<typeof this.schema>();
    const pool = await this.pool();
    if (body?.count === undefined) {
      const [keyId] = await pool.create(1);
      return json({ keyId }, 201);
    }
    return json({ keyIds: await pool.create(body.count) }, 201);
  }
}
