import { endpoint, unwrap } from "../route";
import { KeyInfo, KeyParams, LeaseTokenHeaders, ReportBody } from "../schemas";

export const ReportKey = endpoint({
  method: "post",
  path: "/keys/:id/report",
  operationId: "reportKey",
  tags: ["Keys"],
  summary: "Report what the upstream answered: cool the key down (429), disable it (401/403), count an error",
  description:
    "As the key's holder (the block's KeyPool-Lease-Token; 409 without it, as for every holder's call), or as " +
    "an admin (on any key). rate_limited ends the block and cools the key down until the later of its current " +
    "cooldown and now + retryAfterSeconds (or the pool's cooldownSeconds): a second report extends it, never " +
    "shortens it. unauthorized ends the block and disables the key. error counts a consecutive failure; at the " +
    "pool's maxFailures the key cools down as for rate_limited. ok forgets the failures; with release, frees the " +
    "key. A key a report frees goes to the caller waiting longest.",
  access: "client",
  request: { params: KeyParams, headers: LeaseTokenHeaders, body: { schema: ReportBody, required: true } },
  success: { status: 200, description: "The key's state after the report", schema: KeyInfo },
  refusals: ["no_such_pool", "not_found", "lease_conflict"],

  async handle({ params, body }, call) {
    const claim = await call.claim();
    const report = {
      outcome: body.outcome,
      retryAfterMs: body.retryAfterSeconds === undefined ? undefined : Math.round(body.retryAfterSeconds * 1000),
      release: body.release,
    };
    return unwrap(await (await call.pool()).report(params.id, claim, report, await call.actor()));
  },
});
