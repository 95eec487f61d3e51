import type { IRequest } from "itty-router";
import { type AccessToken, type Config, ConfigError, configOf, MAX_TOKEN_LENGTH, type Role, sha256 } from "../config";
import { hexOf } from "../storage/uuid";
import { HttpError } from "./errors";
import { clientAddress, enforceRateLimit, policyOf } from "./rate-limit";
import type { RequestState } from "./route";

/**
 * Served to anyone: the index and the API's description say nothing secret, and CORS preflights never get here.
 * (`/docs` is a static asset, served before the Worker runs.)
 */
const PUBLIC_PATHS = new Set(["/", "/openapi.json", "/openapi.yaml"]);

/**
 * itty `before` handler: every API request needs a token of a configured role; callers other than
 * admins are rate-limited (clients per token, the rest per address, before they learn whether a
 * guessed token was right). Which role may do what is up to the endpoint (`access`, `requireAdmin`).
 */
export async function authenticate(
  request: IRequest,
  env: Env,
  _ctx: ExecutionContext,
  state: RequestState,
): Promise<undefined> {
  if (PUBLIC_PATHS.has(state.url.pathname)) return;
  const config = configOf(env);
  if (typeof env.RATE_LIMITER?.limit !== "function") {
    throw new ConfigError("the RATE_LIMITER binding ([[ratelimits]] in wrangler.toml) is missing");
  }
  if (config.tokenCount === 0) {
    if (servesWithoutToken(config, state.url)) {
      refuseOtherSites(request);
      state.role = "admin";
      state.caller = LOCAL_CALLER;
      return;
    }
    throw notConfigured(config.localDevOpen);
  }

  const caller = await identify(request.headers.get("Authorization"), await config.tokens);
  if (caller.role !== "admin") {
    const key = caller.role === "client" ? `client:${caller.id}` : `address:${clientAddress(request)}`;
    // Set first, so every answer to this caller announces its quota, the 401 or 429 included.
    state.rateLimit = policyOf(caller.role === "client" ? "client" : "address", config);
    await enforceRateLimit(env.RATE_LIMITER, key, state.rateLimit);
  }
  if (caller.role === undefined) throw unauthorized(caller.problem);
  state.role = caller.role;
  state.caller = caller.digest;
}

/** Who calls in local mode, where there is no token: everyone on this machine is one caller. */
const LOCAL_CALLER = new Uint8Array(32);

/**
 * Local mode serves whoever reaches it as an admin, so a page of another site that a browser on this
 * machine opens must not reach it: a request from any origin but a loopback one is refused. A browser
 * sends `Origin` with every cross-origin request (and with same-origin ones that change something),
 * and `Sec-Fetch-Site` with every request; tools like curl send neither.
 */
function refuseOtherSites(request: IRequest): void {
  const origin = request.headers.get("Origin");
  const site = request.headers.get("Sec-Fetch-Site");
  if ((origin !== null && !isLoopbackOrigin(origin)) || site === "cross-site") {
    throw new HttpError(
      403,
      "Local mode (no token configured) serves only pages and tools on this machine: a request from another " +
        "site is refused. Configure a token (ADMIN_TOKEN) to serve other origins.",
    );
  }
}

/** `http(s)://localhost`, `127.x.x.x` or `[::1]`, any port. */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && isLoopback(url.hostname);
  } catch {
    return false;
  }
}

/** 403 unless the request was made with an admin token; `what` says what needs it. */
export function requireAdmin(state: RequestState, what: string): void {
  if (state.role === undefined) throw new Error("request was not authenticated");
  if (state.role !== "admin") throw forbidden(what);
}

/** 403 for a valid token whose role may not do `what`. */
export function forbidden(what: string): HttpError {
  return new HttpError(403, `Forbidden: ${what} needs an admin token`, undefined, {
    "WWW-Authenticate": 'Bearer realm="KeyPool", error="insufficient_scope"',
  });
}

export type TokenProblem = "missing" | "malformed" | "invalid";
type Caller = { role: Role; digest: Uint8Array; id: string } | { role: undefined; problem: TokenProblem };

/**
 * Compares the presented token's SHA-256 with every configured one in constant time and without
 * stopping at a match, so timing tells neither how much of a guess was right nor which token matched.
 */
async function identify(header: string | null, tokens: readonly AccessToken[]): Promise<Caller> {
  if (header === null || header.trim() === "") return { role: undefined, problem: "missing" };
  const token = /^Bearer +(\S+) *$/i.exec(header)?.[1];
  if (token === undefined || token.length > MAX_TOKEN_LENGTH) return { role: undefined, problem: "malformed" };
  const digest = await sha256(token);
  let role: Role | undefined;
  for (const candidate of tokens) {
    if (crypto.subtle.timingSafeEqual(digest, candidate.digest) && role === undefined) role = candidate.role;
  }
  if (role === undefined) return { role: undefined, problem: "invalid" };
  // The caller's identity (idempotency keys belong to it) and the limiter's key: the token's hash,
  // so the token itself goes nowhere.
  return { role, digest, id: hexOf(digest.subarray(0, 16)) };
}

const TOKEN_PROBLEMS: Record<TokenProblem, { message: string; challenge: string }> = {
  missing: { message: "Missing bearer token: send Authorization: Bearer <token>", challenge: 'Bearer realm="KeyPool"' },
  malformed: {
    message: "Malformed Authorization header: expected Bearer <token>",
    challenge: 'Bearer realm="KeyPool", error="invalid_request"',
  },
  invalid: { message: "Invalid bearer token", challenge: 'Bearer realm="KeyPool", error="invalid_token"' },
};

export function unauthorized(problem: TokenProblem): HttpError {
  const { message, challenge } = TOKEN_PROBLEMS[problem];
  return new HttpError(401, message, undefined, { "WWW-Authenticate": challenge });
}

/**
 * 503, not 500: nothing is broken and no client is at fault; the Worker stays closed until an
 * operator sets a token, and the answer says which.
 */
export function notConfigured(localDevOpen: boolean): HttpError {
  const hint = localDevOpen ? " (LOCAL_DEV_NO_AUTH opens the API to requests to localhost only)" : "";
  return new HttpError(
    503,
    `KeyPool has no access token configured: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN)${hint}`,
  );
}

/** The local development mode: no token configured, LOCAL_DEV_NO_AUTH set, and a loopback host. */
export function servesWithoutToken(config: Config, url: URL): boolean {
  return config.localDevOpen && isLoopback(url.hostname);
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}
