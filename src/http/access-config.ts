import { ConfigError } from "../pool/config";

/** The secrets and vars access control reads. Tokens are secrets, never `[vars]`. */
export interface AccessVars {
  readonly ADMIN_TOKEN?: string | undefined;
  readonly CLIENT_TOKEN?: string | undefined;
  /** Set to "true" only by the `start`/`dev` scripts: see `localDevOpen`. */
  readonly LOCAL_DEV_NO_AUTH?: string | undefined;
  readonly RATE_LIMIT_PERIOD_SECONDS?: string | undefined;
}

export type Role = "admin" | "client";

export interface AccessConfig {
  /** The SHA-256 of every accepted token, with the role it grants. */
  readonly tokens: ReadonlyArray<{ readonly digest: Uint8Array; readonly role: Role }>;
  /**
   * No token is configured and the local development scripts asked for an open API: requests to a
   * loopback host are then served as admin. A deployed Worker never has a loopback host name.
   */
  readonly localDevOpen: boolean;
  /** The rate limiter's period; a 429 asks the client to wait this long. */
  readonly rateLimitPeriodSeconds: number;
}

/** RFC 6750 `b64token` characters, so any token can be sent in an `Authorization: Bearer` header. */
const TOKEN_SYNTAX = /^[A-Za-z0-9\-._~+/]+=*$/;
export const MIN_TOKEN_LENGTH = 16;
export const MAX_TOKEN_LENGTH = 512;

/**
 * Parses the access configuration once; a bad value fails with a message naming the variable and
 * the token's position, never the token itself.
 */
export async function parseAccess(vars: AccessVars): Promise<AccessConfig> {
  const admin = tokenList(vars, "ADMIN_TOKEN");
  const client = tokenList(vars, "CLIENT_TOKEN");
  const adminSet = new Set(admin);
  if (client.some((token) => adminSet.has(token))) {
    throw new ConfigError("a token may not be in both ADMIN_TOKEN and CLIENT_TOKEN");
  }
  const tokens = await Promise.all([
    ...admin.map(async (token) => ({ digest: await sha256(token), role: "admin" as const })),
    ...client.map(async (token) => ({ digest: await sha256(token), role: "client" as const })),
  ]);
  return {
    tokens,
    localDevOpen: tokens.length === 0 && vars.LOCAL_DEV_NO_AUTH?.trim() === "true",
    rateLimitPeriodSeconds: ratePeriod(vars.RATE_LIMIT_PERIOD_SECONDS),
  };
}

/** A comma-separated list, so a new token can be added before the old one is removed. */
function tokenList(vars: AccessVars, name: "ADMIN_TOKEN" | "CLIENT_TOKEN"): string[] {
  const tokens = (vars[name] ?? "")
    .split(",")
    .map((token) => token.trim())
    .filter((token) => token !== "");
  tokens.forEach((token, index) => {
    const which = `${name} token ${index + 1} of ${tokens.length}`;
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
      throw new ConfigError(`${which} must be ${MIN_TOKEN_LENGTH}-${MAX_TOKEN_LENGTH} characters long`);
    }
    if (!TOKEN_SYNTAX.test(token)) {
      throw new ConfigError(`${which} may only use the characters A-Z a-z 0-9 - . _ ~ + / (and trailing =)`);
    }
  });
  return tokens;
}

function ratePeriod(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 60;
  // The only periods the Workers Rate Limiting binding accepts.
  if (raw.trim() !== "10" && raw.trim() !== "60") {
    throw new ConfigError(`RATE_LIMIT_PERIOD_SECONDS must be 10 or 60 (the binding's period), got "${raw}"`);
  }
  return Number(raw);
}

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
