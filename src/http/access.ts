/**
 * Who may call an endpoint: admins only; clients too; or clients only as the key's holder (proven by
 * its KeyPool-Lease-Token), admins always.
 */
export type Access = "admin" | "client" | "client-holder";

/** What a client token may not do, as the 403 says it; the document shows the same answers. */
export const ADMIN_ONLY = {
  admin: "this call",
  "client-holder": "blocking or unblocking a key without its KeyPool-Lease-Token",
} as const satisfies Partial<Record<Access, string>>;
