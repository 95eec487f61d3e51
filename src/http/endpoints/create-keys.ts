import { refusalError } from "../errors";
import { endpoint, unwrap } from "../route";
import { CreateBody, Created, CreatedMany, IdempotencyHeaders, MAX_CREATE_BODY_BYTES } from "../schemas";

export const CreateKeys = endpoint({
  method: "post",
  path: "/keys",
  operationId: "createKeys",
  tags: ["Keys"],
  summary: "Create a key, or `count` keys, or import the values of `keys`, in one transaction",
  description:
    "Generated keys get a random UUID as their value. Imported keys (`keys`) keep the value an admin brings, " +
    "stored encrypted under KEY_ENCRYPTION_KEY, and shown again only to the holder of the key's block. With an " +
    "`Idempotency-Key`, a retry answers the same ids instead of creating more keys.",
  access: "admin",
  request: {
    body: { schema: CreateBody.optional(), required: false, maxBytes: MAX_CREATE_BODY_BYTES },
    headers: IdempotencyHeaders,
  },
  success: {
    status: 201,
    description: 'Created: {"keyId"}, or {"keyIds": [...]} when `count` or `keys` was given',
    schema: Created.or(CreatedMany),
  },
  refusals: ["idempotency_mismatch", "duplicate_values", "no_encryption_key"],

  async handle({ body }, call) {
    const pool = call.poolToMake();
    const once = { idempotency: await call.idempotency(body?.keys !== undefined)?.token };
    if (body?.keys !== undefined) {
      // Refused here already, so that an import nobody can seal makes no pool.
      if ((await call.config.valueKeys).sealing === null) throw refusalError("no_encryption_key");
      return { keyIds: unwrap(await pool.importKeys(body.keys, { ...once, actor: await call.actor() })) };
    }
    const keyIds = unwrap(
      await pool.create(body?.count ?? 1, { ...once, label: body?.label, actor: await call.actor() }),
    );
    const [keyId] = keyIds;
    return body?.count === undefined && keyId !== undefined ? { keyId } : { keyIds };
  },
});
