import type { IRequest } from "itty-router";
import { configOf } from "../config";
import { isLoopbackOrigin } from "./auth";

/**
 * CORS: open to every origin, as the original prototype was (a browser on any site may call KeyPool
 * with a token it was given), except in local mode, which serves without a token: there only pages on
 * this machine are answered, so that no website a developer visits can drive the local pool.
 */
const ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
export const ALLOWED_HEADERS = ["Content-Type", "Authorization", "Idempotency-Key", "KeyPool-Lease-Token"];

/** Headers a browser script may read from an answer (CORS hides all but the basic ones otherwise). */
export const EXPOSED_HEADERS = ["Allow", "Retry-After", "WWW-Authenticate", "RateLimit", "RateLimit-Policy"];

/** The `Access-Control-Allow-Origin` this request gets, or null for none. */
function allowedOrigin(request: Request, env: Env): string | null {
  if (!configOf(env).localDevOpen) return "*";
  const origin = request.headers.get("Origin");
  return origin !== null && isLoopbackOrigin(origin) ? origin : null;
}

/** itty `before` handler: answers a browser's preflight (an OPTIONS request) with 204. */
export function preflight(request: IRequest, env: Env): Response | undefined {
  if (request.method !== "OPTIONS") return;
  const response = new Response(null, { status: 204 });
  if (allowedOrigin(request, env) !== null) {
    response.headers.set("Access-Control-Allow-Methods", ALLOW_METHODS);
    response.headers.set("Access-Control-Allow-Headers", ALLOWED_HEADERS.join(", "));
    response.headers.set("Access-Control-Max-Age", "86400");
  }
  return withCors(response, request, env);
}

/** Sets the CORS headers of an answer (in place: every response here is one this Worker made). */
export function withCors(response: Response, request: Request, env: Env): Response {
  const origin = allowedOrigin(request, env);
  if (origin !== null) {
    response.headers.set("Access-Control-Allow-Origin", origin);
    response.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS.join(", "));
  }
  // The answer to one origin differs from the answer to another only in local mode.
  if (origin !== "*") response.headers.set("Vary", "Origin");
  return response;
}
