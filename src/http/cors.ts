import { cors } from "itty-router";

/** Headers a browser script may read from an answer (CORS hides all but the basic ones otherwise). */
export const EXPOSED_HEADERS = ["Allow", "Retry-After", "WWW-Authenticate", "RateLimit", "RateLimit-Policy"];
export const EXPOSED_HEADERS_LIST = EXPOSED_HEADERS.join(", ");

/** CORS is open, as in the prototype: any origin, and preflights answered for a day. */
export const { preflight } = cors({
  origin: "*",
  allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
  allowHeaders: ["Content-Type", "Authorization", "Idempotency-Key"],
  maxAge: 86400,
});
