import { EXPOSED_HEADERS } from "./cors";

/**
 * Every response header the Worker sends, declared once in `components.headers` and referenced from
 * each answer that carries it, so generated clients, gateways and linters know them.
 */
export const HEADERS = {
  "Access-Control-Allow-Origin": {
    description:
      "CORS: any origin may call the API, so this is `*`, errors included. In local mode (`npm start`, no " +
      "token configured) only pages on this machine are served: a loopback origin is echoed, others get none.",
    required: false,
    schema: { type: "string", maxLength: 100, pattern: "^(\\*|https?://[^/]+)$", example: "*" },
  },
  "Access-Control-Expose-Headers": {
    description: "CORS: the headers a browser script may read; sent with `Access-Control-Allow-Origin`.",
    required: false,
    schema: { type: "string", enum: [EXPOSED_HEADERS.join(", ")] },
  },
  Vary: {
    description: "`Origin`, in local mode only, where the answer depends on the caller's origin.",
    required: false,
    schema: { type: "string", enum: ["Origin"] },
  },
  "X-Content-Type-Options": {
    description: "Always `nosniff`: a browser treats the answer as the JSON it says it is.",
    required: true,
    schema: { type: "string", enum: ["nosniff"] },
  },
  "Cache-Control": {
    description: "Always `no-store`: no cache keeps an answer (some carry a key value).",
    required: true,
    schema: { type: "string", enum: ["no-store"] },
  },
  "RateLimit-Policy": {
    description:
      "IETF HTTPAPI RateLimit-Policy, on every answer to a rate-limited caller (a client token, or a caller " +
      "without a valid token; never an admin): the policy (`client` per token, `address` per caller " +
      "address), its quota `q` and window `w` in seconds. Cloudflare counts per location, approximately.",
    required: false,
    schema: {
      type: "string",
      maxLength: 100,
      pattern: '^"(client|address)";q=\\d+;w=\\d+$',
      example: '"client";q=300;w=60',
    },
  },
  RateLimit: {
    description:
      "IETF HTTPAPI RateLimit, on every 429 of the rate limiter: nothing remains (`r=0`) and the window resets " +
      "within `t` seconds (an upper bound: the limiter does not say when its window ends). A 429 for too many " +
      "callers waiting for a key (GET /keys?waitSeconds) has none.",
    required: false,
    schema: {
      type: "string",
      maxLength: 100,
      pattern: '^"(client|address)";r=0;t=\\d+$',
      example: '"client";r=0;t=60',
    },
  },
  "Retry-After": {
    description: "Seconds to wait before trying again: the rate limit's window (10 or 60).",
    required: true,
    schema: { type: "integer", format: "int32", minimum: 1, maximum: 60 },
  },
  "WWW-Authenticate": {
    description: 'The bearer challenge, e.g. `Bearer realm="KeyPool", error="invalid_token"`.',
    required: true,
    schema: {
      type: "string",
      maxLength: 100,
      pattern: '^Bearer realm="KeyPool"',
      example: 'Bearer realm="KeyPool", error="invalid_token"',
    },
  },
  "WWW-Authenticate-Scope": {
    description:
      'On a 403 for a client token where an admin one is needed: `Bearer realm="KeyPool", error="insufficient_scope"`.',
    required: false,
    schema: { type: "string", maxLength: 100, enum: ['Bearer realm="KeyPool", error="insufficient_scope"'] },
  },
  "Retry-After-Later": {
    description:
      "Whole seconds to wait before trying again: until a key may be free (the earliest release of a block or " +
      "end of a cooldown, rounded up; `retryAfterSeconds` in the body says the same), sent when no key was free " +
      "and the pool knows when one may be; or 1 after the pool restarted under the call (503).",
    required: false,
    schema: { type: "integer", format: "int32", minimum: 0, maximum: 31_536_000 },
  },
} satisfies Record<string, HeaderComponent>;

/** A header object of OpenAPI 3.1: its schema is plain JSON Schema. */
interface HeaderComponent {
  description: string;
  required: boolean;
  schema: { type: "string" | "integer" } & Record<string, unknown>;
}

export type HeaderName = keyof typeof HEADERS;

/** What every answer carries. */
const ALWAYS: readonly HeaderName[] = [
  "Access-Control-Allow-Origin",
  "Access-Control-Expose-Headers",
  "Vary",
  "X-Content-Type-Options",
  "Cache-Control",
  "RateLimit-Policy",
];

/** An answer's headers: those every answer carries, then `extra`, each a reference to its component. */
export function headersOf(...extra: HeaderName[]): Record<string, { $ref: string }> {
  const refs: Record<string, { $ref: string }> = {};
  for (const name of [...ALWAYS, ...extra]) refs[name] = { $ref: `#/components/headers/${name}` };
  return refs;
}
