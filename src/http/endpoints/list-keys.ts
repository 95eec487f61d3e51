import type { ListPosition, ListState } from "../../pool/listing";
import { isKeyId } from "../../pool/rules";
import { invalidRequest } from "../errors";
import { KeyPageBody, ListQuery, PoolParams } from "../pool-schemas";
import { endpoint, unwrap } from "../route";

export const ListKeys = endpoint({
  method: "get",
  path: "/pools/:pool/list",
  operationId: "listKeys",
  tags: ["Pools"],
  summary: "One page of a pool's keys (never their values)",
  description:
    "Keyset pagination: each page reads `limit` keys whatever its number or the pool's size. Follow `cursor` " +
    "until it is null to see every key of an unchanged pool exactly once; keys that change state between " +
    "pages may appear in two pages or none. A bad cursor, or one from a listing of another state, is 400.",
  // Operators only: it shows the whole pool.
  access: "admin",
  request: { params: PoolParams, query: ListQuery },
  success: { status: 200, description: "A page of keys", schema: KeyPageBody },
  refusals: ["no_such_pool"],

  async handle({ query }, call) {
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor, query.state);
    const page = unwrap(await (await call.pool()).listKeys(query.state, query.limit, after));
    return { keys: page.keys, cursor: page.next === null ? null : encodeCursor(page.next) };
  },
});

/**
 * A cursor is the position after a page's last key, as base64url text. Opaque to clients, and checked
 * strictly on the way back in: it only says where to start reading, so a forged one can do no more
 * than start elsewhere, but a malformed one is a client error, never a 500.
 */
function encodeCursor(position: ListPosition): string {
  const text =
    position.state === "blocked" ? `b:${position.releaseAt}:${position.id}` : `${position.state[0]}:${position.id}`;
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string, state: ListState): ListPosition {
  const position = parseCursor(cursor);
  if (position === null) throw badCursor("cursor is not one this API returned");
  if (position.state !== state) throw badCursor(`cursor belongs to a listing of state=${position.state}`);
  return position;
}

function parseCursor(cursor: string): ListPosition | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  let text: string;
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
  const [tag, first, second, ...rest] = text.split(":");
  if (rest.length > 0) return null;
  if ((tag === "a" || tag === "f") && first !== undefined && second === undefined && isKeyId(first)) {
    return { state: tag === "a" ? "all" : "free", id: first.toLowerCase() };
  }
  if (tag === "b" && isCount(first) && second !== undefined && isKeyId(second)) {
    return { state: "blocked", releaseAt: Number(first), id: second.toLowerCase() };
  }
  return null;
}

function isCount(text: string | undefined): text is string {
  return text !== undefined && /^\d{1,15}$/.test(text);
}

function badCursor(message: string) {
  return invalidRequest([{ path: "query.cursor", message }]);
}
