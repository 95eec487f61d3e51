/**
 * Who may call an endpoint: admins only; clients too; or clients only when they present the key's
 * current lease (blocking and unblocking), admins always.
 */
export type Access = "admin" | "client" | "client-with-lease";

/** What a client token may not do, as the 403 says it; the document shows the same answers. */
export const ADMIN_ONLY = {
  admin: "this call",
  "client-with-lease": "blocking or unblocking a key without its lease",
} as const satisfies Partial<Record<Access, string>>;
