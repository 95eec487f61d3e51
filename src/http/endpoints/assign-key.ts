import * as z from "zod";
import { isValidHold } from "../../pool/rules";
import { invalidRequest } from "../errors";
import { endpoint, unwrap } from "../route";
import { Assignment, HoldSeconds, IdempotencyHeaders, queryNumber } from "../schemas";

export const AssignKey = endpoint({
  method: "get",
  path: "/keys",
  operationId: "assignKey",
  tags: ["Keys"],
  summary: "Get a free key, chosen uniformly at random, and block it for everyone else",
  description:
    "The key stays blocked until it is unblocked (with its lease) or the hold passes: `holdSeconds` " +
    "when given, else BLOCK_TTL_SECONDS. `lease` is the fencing number that proves you hold it. " +
    "With an `Idempotency-Key`, a retry answers the same key instead of blocking a second one.",
  access: "client",
  request: {
    query: z.strictObject({ holdSeconds: queryNumber(HoldSeconds).optional() }),
    headers: IdempotencyHeaders,
  },
  success: { status: 200, description: "The key, now blocked for the caller", schema: Assignment },
  refusals: ["none_free", "idempotency_mismatch"],

  async handle({ query }, call) {
    // The schema knows the smallest hold; the largest is a var (MAX_HOLD_SECONDS), read at run time.
    const { maxHoldMs } = call.config;
    if (query.holdSeconds !== undefined && !isValidHold(query.holdSeconds, maxHoldMs)) {
      const message = `must be at most MAX_HOLD_SECONDS (${maxHoldMs / 1000})`;
      throw invalidRequest([{ path: "query.holdSeconds", message }]);
    }
    const pool = call.pool();
    return unwrap(await pool.assign({ holdSeconds: query.holdSeconds, idempotency: await call.idempotency() }));
  },
});
