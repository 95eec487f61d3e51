import { contentJson, type OpenAPIRouteSchema } from "chanfana";
import { z } from "zod";
import { ErrorBody } from "./schemas";

/**
 * Who may call an endpoint: admins only; clients too; or clients only when they present the key's
 * current lease (blocking and unblocking), admins always.
 */
export type Access = "admin" | "client" | "client-with-lease";

export const BEARER_SCHEME = "bearerAuth";

export const bearerScheme = {
  type: "http",
  scheme: "bearer",
  description:
    "A token from the ADMIN_TOKEN (role admin: everything) or CLIENT_TOKEN (role client: assign, read, " +
    "keep alive, and unblock or renew with the key's lease) secret.",
} as const;

const ROLE_LINES: Record<Access, string> = {
  admin: "Role: admin.",
  client: "Roles: admin, client.",
  "client-with-lease": "Roles: admin; client only with the key's current `lease`.",
};

const FORBIDDEN: Partial<Record<Access, string>> = {
  admin: "A client token: this call needs an admin token",
  "client-with-lease": "A client token without `lease`: only an admin token may do this without the key's lease",
};

function error(description: string, headers?: Record<string, z.ZodType>) {
  return { description, ...(headers && { headers: z.object(headers) }), ...contentJson(ErrorBody) };
}

/** An endpoint's schema with its bearer requirement, its roles, and every status access control can answer. */
export function withAccess(schema: OpenAPIRouteSchema, access: Access): OpenAPIRouteSchema {
  const responses: NonNullable<OpenAPIRouteSchema["responses"]> = {
    ...schema.responses,
    "401": error("Missing, malformed or unknown bearer token", {
      "WWW-Authenticate": z
        .string()
        .describe('The bearer challenge, e.g. `Bearer realm="KeyPool", error="invalid_token"`'),
    }),
    "429": error("Too many requests from this client token (or, without a valid token, this address)", {
      "Retry-After": z.int().positive().describe("Seconds to wait before trying again"),
    }),
    "503": error("No access token is configured on the server yet (set the ADMIN_TOKEN secret)"),
  };
  const forbidden = FORBIDDEN[access];
  if (forbidden !== undefined) {
    const existing = responses["403"]?.description;
    responses["403"] = error(existing === undefined ? forbidden : `${existing}; or: ${forbidden}`);
  }
  const description = [schema.description, ROLE_LINES[access]].filter(Boolean).join("\n\n");
  return { ...schema, description, security: [{ [BEARER_SCHEME]: [] }], responses };
}
