import { isTimed, type ListPosition, type ListState } from "../../pool/listing";
import { isKeyId } from "../../pool/rules";
import { cursorText, encodeCursor } from "../cursor";
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
    const after = query.cursor === undefined ? null : decodePosition(query.cursor, query.state);
    const page = unwrap(await (await call.pool()).listKeys(query.state, query.limit, after));
    return { keys: page.keys, cursor: page.next === null ? null : encodePosition(page.next) };
  },
});

/**
 * A cursor is the position after a page's last key, tagged with its state (../cursor.ts): each
 * state's tag.
 */
const TAGS: Record<ListState, string> = { all: "a", free: "f", blocked: "b", cooling: "c", disabled: "d" };

function encodePosition(position: ListPosition): string {
  const tag = TAGS[position.state];
  return encodeCursor("at" in position ? `${tag}:${position.at}:${position.id}` : `${tag}:${position.id}`);
}

function decodePosition(cursor: string, state: ListState): ListPosition {
  const position = parseCursor(cursor);
  if (position === null) throw badCursor("cursor is not one this API returned");
  if (position.state !== state) throw badCursor(`cursor belongs to a listing of state=${position.state}`);
  return position;
}

function parseCursor(cursor: string): ListPosition | null {
  const text = cursorText(cursor);
  if (text === null) return null;
  const [tag, first, second, ...rest] = text.split(":");
  const state = (Object.keys(TAGS) as ListState[]).find((name) => TAGS[name] === tag);
  if (rest.length > 0 || state === undefined) return null;
  if (!isTimed(state)) {
    return first !== undefined && second === undefined && isKeyId(first) ? { state, id: first.toLowerCase() } : null;
  }
  return isCount(first) && second !== undefined && isKeyId(second)
    ? { state, at: Number(first), id: second.toLowerCase() }
    : null;
}

function isCount(text: string | undefined): text is string {
  return text !== undefined && /^\d{1,15}$/.test(text);
}

function badCursor(message: string) {
  return invalidRequest([{ path: "query.cursor", message }]);
}
