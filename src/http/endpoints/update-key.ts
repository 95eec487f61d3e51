import { claimsHolding } from "../../pool/rules";
import { ADMIN_ONLY } from "../access";
import { newHolderSecret } from "../holder";
import { endpoint, unwrap } from "../route";
import { BlockResult, KeyParams, LeaseTokenHeaders, UpdateBody } from "../schemas";

export const UpdateKey = endpoint({
  method: "put",
  path: "/keys/:id",
  operationId: "updateKey",
  tags: ["Keys"],
  summary: "Unblock (`blocked: false`) or block (`blocked: true`) a key; or set its `label`, or disable it",
  description:
    "As the holder (the block's KeyPool-Lease-Token, optionally with its `lease` as a fencing check): unblock " +
    "releases the block, block renews it. As an admin, without either: block a free key (a new block, " +
    "auto-released after BLOCK_TTL_SECONDS, answered with its `lease` and `leaseToken`) or unblock any key. " +
    "Blocking a key that is already blocked, not as its holder, answers 409; a wrong, stale or missing secret " +
    "on a holder's call answers 409 too. `label` (admins only, on its own) sets or, with null, removes the " +
    "key's label. `disabled` (admins only, on its own): true disables the key (its block ends; never handed " +
    "out until enabled), false enables it. A disabled key cannot be blocked (409).",
  access: "client-holder",
  request: { params: KeyParams, headers: LeaseTokenHeaders, body: { schema: UpdateBody, required: true } },
  success: { status: 200, description: "The key's state after the change", schema: BlockResult },
  refusals: ["no_such_pool", "not_found", "not_holder", "lease_conflict", "held", "key_disabled"],

  async handle({ params, body }, call) {
    if (body.disabled !== undefined) {
      call.requireAdmin("disabling or enabling a key");
      return unwrap(await (await call.pool()).setDisabled(params.id, body.disabled, await call.actor()));
    }
    if (body.blocked === undefined) {
      call.requireAdmin("setting a key's label");
      return unwrap(await (await call.pool()).relabel(params.id, body.label ?? null));
    }
    const claim = await call.claim(body.lease);
    // A client acts only as the key's holder; without a claim the call takes or frees any key.
    const asHolder = claimsHolding(claim);
    if (!asHolder) call.requireAdmin(ADMIN_ONLY["client-holder"]);
    const pool = await call.pool();
    // Only an admin's block of a free key starts a block, which needs a secret for its holder.
    const holder = body.blocked && !asHolder ? await newHolderSecret() : undefined;
    const { startedBlock, ...result } = unwrap(
      await pool.setBlocked(params.id, body.blocked, claim, holder?.digest, await call.actor()),
    );
    return startedBlock && holder !== undefined ? { ...result, leaseToken: holder.token } : result;
  },
});
