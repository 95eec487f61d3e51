/**
 * The cursors of the paginated answers (`/list`, `/audit`, `GET /pools`): text of this API's own, as
 * base64url. Opaque to clients, and read back strictly: a cursor only says where to start reading, so
 * a forged one can do no more than start elsewhere, but a malformed one is a client error, never a 500.
 */

/** The longest cursor read back: longer than any this API makes. */
const MAX_CURSOR_LENGTH = 200;

export function encodeCursor(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The text a cursor carries, or null when it is not base64url text of a cursor's length. */
export function cursorText(cursor: string): string | null {
  if (!new RegExp(`^[A-Za-z0-9_-]{1,${MAX_CURSOR_LENGTH}}$`).test(cursor)) return null;
  try {
    return atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
}
