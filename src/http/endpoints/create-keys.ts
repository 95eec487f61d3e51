import { endpoint, unwrap } from "../route";
import { CreateBody, Created, CreatedMany, IdempotencyHeaders } from "../schemas";

export const CreateKeys = endpoint({
  method: "post",
  path: "/keys",
  operationId: "createKeys",
  tags: ["Keys"],
  summary: "Create a key, or `count` keys in one transaction",
  description: "With an `Idempotency-Key`, a retry answers the same ids instead of creating more keys.",
  access: "admin",
  request: {
    body: { schema: CreateBody.optional(), required: false },
    headers: IdempotencyHeaders,
  },
  success: {
    status: 201,
    description: 'Created: {"keyId"}, or {"keyIds": [...]} when `count` was given',
    schema: Created.or(CreatedMany),
  },
  refusals: ["idempotency_mismatch"],

  async handle({ body }, call) {
    const pool = call.poolToMake();
    const count = body?.count ?? 1;
    const keyIds = unwrap(await pool.create(count, { idempotency: await call.idempotency()?.token }));
    const [keyId] = keyIds;
    return body?.count === undefined && keyId !== undefined ? { keyId } : { keyIds };
  },
});
