import * as z from "zod";
import { isValidHold } from "../../pool/rules";
import { invalidRequest } from "../errors";
import { newHolderSecret, unseal } from "../holder";
import { endpoint, unwrap } from "../route";
import { Assignment, HoldSeconds, IdempotencyHeaders, queryNumber, WaitSeconds } from "../schemas";

export const AssignKey = endpoint({
  method: "get",
  path: "/keys",
  operationId: "assignKey",
  tags: ["Keys"],
  summary: "Get a free key, chosen uniformly at random, and block it for everyone else",
  description:
    "The key stays blocked until its holder unblocks it or the hold passes: `holdSeconds` when given, else " +
    "BLOCK_TTL_SECONDS. `leaseToken` is the secret that proves you hold it (send it as KeyPool-Lease-Token); " +
    "`lease` is the block's fencing number, for upstream services. With an `Idempotency-Key` (which belongs " +
    "to your token), a retry answers the same key and secret instead of blocking a second one, as long as " +
    "that block holds; after it ended, 410. When no key is free: 404 with Retry-After (when a key may be free), " +
    "or, with `waitSeconds`, a wait for the first key to come free, first come first served.",
  access: "client",
  request: {
    query: z.strictObject({
      holdSeconds: queryNumber(HoldSeconds).optional(),
      waitSeconds: queryNumber(WaitSeconds).optional(),
    }),
    headers: IdempotencyHeaders,
  },
  success: { status: 200, description: "The key, now blocked for the caller", schema: Assignment },
  refusals: [
    "no_such_pool",
    "none_free",
    "too_many_waiters",
    "replay_gone",
    "idempotency_mismatch",
    "value_key_missing",
    "value_unreadable",
  ],

  async handle({ query }, call) {
    // The schema knows the smallest hold; the largest is a var (MAX_HOLD_SECONDS), read at run time.
    const { maxHoldMs, maxWaitMs } = call.config;
    if (query.holdSeconds !== undefined && !isValidHold(query.holdSeconds, maxHoldMs)) {
      const message = `must be at most MAX_HOLD_SECONDS (${maxHoldMs / 1000})`;
      throw invalidRequest([{ path: "query.holdSeconds", message }]);
    }
    if (query.waitSeconds !== undefined && query.waitSeconds * 1000 > maxWaitMs) {
      const message = `must be at most MAX_WAIT_SECONDS (${maxWaitMs / 1000})`;
      throw invalidRequest([{ path: "query.waitSeconds", message }]);
    }
    const pool = await call.pool();
    const idempotency = call.idempotency();
    const holder = await newHolderSecret(idempotency?.scope);
    const { sealedToken, ...grant } = unwrap(
      await pool.assign({
        holdSeconds: query.holdSeconds,
        waitSeconds: query.waitSeconds,
        idempotency: await idempotency?.token,
        holder,
        actor: await call.actor(),
      }),
    );
    // A replay answers the secret the first call made, which only this caller's scope unseals.
    const leaseToken =
      sealedToken === undefined || idempotency === undefined
        ? holder.token
        : await unseal(sealedToken, idempotency.scope);
    return { ...grant, leaseToken };
  },
});
