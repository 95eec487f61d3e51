import type { AuditPosition } from "../../pool/audit";
import { AuditPageBody, AuditQuery, auditEntryBody } from "../audit-schemas";
import { cursorText, encodeCursor } from "../cursor";
import { invalidRequest } from "../errors";
import { PoolParams } from "../pool-schemas";
import { endpoint, unwrap } from "../route";

export const GetAudit = endpoint({
  method: "get",
  path: "/pools/:pool/audit",
  operationId: "getAudit",
  tags: ["Pools"],
  summary: "The pool's audit trail: who did what to which key, newest first",
  description:
    "One entry per change (keys created, imported, assigned, blocked, renewed, unblocked, released, reported, " +
    "cooled, disabled, enabled, expired, deleted; settings changed; the pool made), with its time, sequence " +
    "number, key, lease and actor (a role and a keyed fingerprint of the token, never the token). Filter by " +
    "keyId and a time range; follow `cursor` as `after` for older entries. Each page reads `limit` entries " +
    "whatever the trail's size. Kept for the pool's auditRetentionDays.",
  // Operators only: it shows who held every key.
  access: "admin",
  request: { params: PoolParams, query: AuditQuery },
  success: { status: 200, description: "A page of the trail", schema: AuditPageBody },
  refusals: ["no_such_pool"],

  async handle({ query }, call) {
    const after = query.after === undefined ? undefined : decodePosition(query.after);
    const filter = {
      keyId: query.keyId?.toLowerCase(),
      since: query.since === undefined ? undefined : Date.parse(query.since),
      until: query.until === undefined ? undefined : Date.parse(query.until),
      after,
      limit: query.limit,
    };
    const page = unwrap(await (await call.pool()).audit(filter));
    const last = page.entries.at(-1);
    return {
      entries: page.entries.map(auditEntryBody),
      cursor: page.more && last !== undefined ? encodePosition({ at: last.at, seq: last.seq }) : null,
    };
  },
});

/** A cursor is the position of a page's last entry, `at.seq` (../cursor.ts). */
function encodePosition(position: AuditPosition): string {
  return encodeCursor(`${position.at}.${position.seq}`);
}

function decodePosition(cursor: string): AuditPosition {
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(cursorText(cursor) ?? "");
  if (match === null) {
    throw invalidRequest([{ path: "query.after", message: "after is not a cursor this API returned" }]);
  }
  return { at: Number(match[1]), seq: Number(match[2]) };
}
