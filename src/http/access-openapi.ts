import type { ResponseConfig } from "@asteasolutions/zod-to-openapi";
import * as z from "zod";
import { ErrorBody } from "./schemas";

/**
 * Who may call an endpoint: admins only; clients too; or clients only when they present the key's
 * current lease (blocking and unblocking), admins always.
 */
export type Access = "admin" | "client" | "client-holder";

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

const FORBIDDEN: Partial<Record<Access, string>> = {
  admin: "A client token: this call needs an admin token",
  "client-holder":
    "A client token without a KeyPool-Lease-Token: only an admin token may do this without the key's holder secret",
};

/** An error answer in the document: the one error body, and the headers that come with it. */
export function documentedError(description: string, headers?: Record<string, z.ZodType>): ResponseConfig {
  return {
    description,
    ...(headers && { headers: z.object(headers) }),
    content: { "application/json": { schema: ErrorBody } },
  };
}

type Responses = Record<string, ResponseConfig>;

/**
 * An operation's description, security and responses with its bearer requirement, its roles, and
 * every status access control can answer.
 */
export function withAccess(
  operation: { description?: string; responses: Responses },
  access: Access,
): { description: string; security: Array<Record<string, string[]>>; responses: Responses } {
  const responses: Responses = {
    ...operation.responses,
    "401": documentedError("Missing, malformed or unknown bearer token", {
      "WWW-Authenticate": z
        .string()
        .describe('The bearer challenge, e.g. `Bearer realm="KeyPool", error="invalid_token"`'),
    }),
    "429": documentedError("Too many requests from this client token (or, without a valid token, this address)", {
      "Retry-After": z.int().positive().describe("Seconds to wait before trying again"),
    }),
    "503": documentedError("No access token is configured on the server yet (set the ADMIN_TOKEN secret)"),
  };
  const forbidden = FORBIDDEN[access];
  if (forbidden !== undefined) {
    const existing = responses["403"]?.description;
    responses["403"] = documentedError(existing === undefined ? forbidden : `${existing}; or: ${forbidden}`);
  }
  const description = [operation.description, ROLE_LINES[access]].filter(Boolean).join("\n\n");
  return { description, security: [{ [BEARER_SCHEME]: [] }], responses };
}
