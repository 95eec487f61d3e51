import { contentJson } from "chanfana";
import type { Access } from "../access-openapi";
import { errorResponses, json, PoolRoute, unwrap } from "../route";
import { CreateBody, Created, CreatedMany, IdempotencyHeaders } from "../schemas";

export class CreateKeys extends PoolRoute {
  protected override readonly access: Access = "admin";

  override schema = {
    operationId: "createKeys",
    tags: ["Keys"],
    summary: "Create a key, or `count` keys in one transaction",
    description: "With an `Idempotency-Key`, a retry answers the same ids instead of creating more keys.",
    request: {
      body: { ...contentJson(CreateBody.optional()), required: false },
      headers: IdempotencyHeaders,
    },
    responses: {
      "201": {
        description: 'Created: {"keyId"}, or {"keyIds": [...]} when `count` was given',
        ...contentJson(Created.or(CreatedMany)),
      },
      ...errorResponses(413, 415, 422),
    },
  };

  override async handle() {
    const { body } = await this.getValidatedData<typeof this.schema>();
    const pool = await this.pool();
    const count = body?.count ?? 1;
    const idempotency = await this.idempotency();
    const keyIds =
      idempotency === undefined ? await pool.create(count) : unwrap(await pool.createOnce(count, idempotency));
    return body?.count === undefined ? json({ keyId: keyIds[0] }, 201) : json({ keyIds }, 201);
  }
}
