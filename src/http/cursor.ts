import type { ListPosition, ListState } from "../pool/listing";
import { isUuid } from "../pool/uuid";
import { HttpError } from "./errors";

/**
 * Listing cursors: the position after a page's last key, as base64url text. Opaque to clients, and
 * checked strictly on the way back in: it only says where to start reading, so a forged one can do no
 * more than start elsewhere, but a malformed one is a client error, never a 500.
 */
export function encodeCursor(position: ListPosition): string {
  const text =
    position.state === "all"
      ? `a:${position.id}`
      : position.state === "free"
        ? `f:${position.slot}`
        : `b:${position.releaseAt}:${position.id}`;
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(cursor: string, state: ListState): ListPosition {
  const position = parse(cursor);
  if (position === null) throw invalid("cursor is not one this API returned");
  if (position.state !== state) throw invalid(`cursor belongs to a listing of state=${position.state}`);
  return position;
}

function parse(cursor: string): ListPosition | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  let text: string;
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
  const [tag, first, second, ...rest] = text.split(":");
  if (rest.length > 0) return null;
  if (tag === "a" && first !== undefined && second === undefined && isUuid(first)) {
    return { state: "all", id: first.toLowerCase() };
  }
  if (tag === "f" && second === undefined && isCount(first)) return { state: "free", slot: Number(first) };
  if (tag === "b" && isCount(first) && second !== undefined && isUuid(second)) {
    return { state: "blocked", releaseAt: Number(first), id: second.toLowerCase() };
  }
  return null;
}

function isCount(text: string | undefined): text is string {
  return text !== undefined && /^\d{1,15}$/.test(text);
}

function invalid(message: string): HttpError {
  return new HttpError(400, `Invalid request: query.cursor: ${message}`, [{ path: "query.cursor", message }]);
}
