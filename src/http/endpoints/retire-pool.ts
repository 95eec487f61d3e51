import * as z from "zod";
import { PoolParams } from "../pool-schemas";
import { forgetPool } from "../pools";
import { endpoint, unwrap } from "../route";
import { PoolName } from "../schemas";

const Retired = z
  .object({ pool: PoolName, retired: z.literal(true) })
  .openapi("RetiredPool", { description: "The pool no longer exists; its name may be made again, empty." });

export const RetirePool = endpoint({
  method: "delete",
  path: "/pools/:pool",
  operationId: "retirePool",
  tags: ["Pools"],
  summary: "Retire a pool: delete it with every key, setting and idempotency answer it holds",
  description:
    "Deletes the pool's whole database and clears its alarm, and takes it out of the directory: every call " +
    "on it answers 404 No such pool from then on, until an admin makes a pool of that name again (by creating " +
    "keys or setting its settings), which starts empty. Holders of its keys lose them at once. Cannot be undone.",
  access: "admin",
  request: { params: PoolParams },
  success: { status: 200, description: "Retired", schema: Retired },
  refusals: ["no_such_pool"],

  async handle(_request, call) {
    const { pool } = unwrap(await (await call.pool()).retire());
    forgetPool(pool);
    return { pool, retired: true as const };
  },
});
