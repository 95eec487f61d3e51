import type { Access } from "./access";

export const BEARER_SCHEME = "bearerAuth";

export const bearerScheme = {
  type: "http",
  scheme: "bearer",
  description:
    "A token from the ADMIN_TOKEN (role admin: everything) or CLIENT_TOKEN (role client: assign, read, " +
    "keep alive, and, as a key's holder with its KeyPool-Lease-Token, unblock or renew it) secret.",
} as const;

const ROLE_LINES: Record<Access, string> = {
  admin: "Role: admin.",
  client: "Roles: admin, client.",
  "client-holder": "Roles: admin; client only as the key's holder, with its `KeyPool-Lease-Token`.",
};

/** An operation's description with the roles that may call it, and its bearer requirement. */
export function withAccess(
  description: string | undefined,
  access: Access,
): { description: string; security: Array<Record<string, string[]>> } {
  return {
    description: [description, ROLE_LINES[access]].filter(Boolean).join("\n\n"),
    security: [{ [BEARER_SCHEME]: [] }],
  };
}
