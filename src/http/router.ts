import { ApiException, fromIttyRouter } from "chanfana";
import { AutoRouter, cors, type IRequest } from "itty-router";
import { ConfigError, parseMaxHoldMs, parseTimings } from "../pool/config";
import { BEARER_SCHEME, bearerScheme } from "./access-openapi";
import { authenticate } from "./auth";
import { AssignKey } from "./endpoints/assign-key";
import { CreateKeys } from "./endpoints/create-keys";
import { DeleteKey } from "./endpoints/delete-key";
import { GetKey } from "./endpoints/get-key";
import { GetKeyInfo } from "./endpoints/get-key-info";
import { GetPool } from "./endpoints/get-pool";
import { KeepAlive } from "./endpoints/keep-alive";
import { ListKeys } from "./endpoints/list-keys";
import { UpdateKey } from "./endpoints/update-key";
import { UpdateSettings } from "./endpoints/update-settings";
import { errorResponse, HttpError } from "./errors";
import { inNamedPool, type PoolRoute, type WorkerArgs } from "./route";

const ALLOWED_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"];

const { preflight, corsify } = cors({
  origin: "*",
  allowMethods: ALLOWED_METHODS,
  allowHeaders: ["Content-Type", "Authorization", "Idempotency-Key"],
  maxAge: 86400,
});

/** The Worker's router: every `/keys` route, served again under `/pools/{pool}`, plus the docs. */
export function buildRouter() {
  const router = AutoRouter<IRequest, WorkerArgs>({
    before: [preflight, checkConfig, authenticate, rejectTrailingSlash],
    catch: toErrorResponse,
    finally: [corsify, withStandardHeaders],
    missing: (request: IRequest) => notFoundOrNotAllowed(router.routes, request),
  });
  const api = fromIttyRouter(router, {
    openapiVersion: "3.1",
    passthroughErrors: true,
    schema: {
      info: {
        title: "KeyPool",
        version: "1.0.0",
        description:
          "A durable pool of API keys. Keys expire KEY_TTL_SECONDS after their last keep-alive; " +
          "a blocked key is released BLOCK_TTL_SECONDS after it was blocked. Every error is JSON " +
          '`{"error": string, "details"?: any}`. Every call needs a bearer token of the admin or client ' +
          "role; clients are rate-limited per token, callers without a valid token per address.",
      },
    },
  });
  api.registry.registerComponent("securitySchemes", BEARER_SCHEME, bearerScheme);

  const mounts: Array<[string, (endpoint: typeof PoolRoute) => typeof PoolRoute]> = [
    ["/keys", (endpoint) => endpoint],
    ["/pools/:pool/keys", inNamedPool],
  ];
  for (const [base, serve] of mounts) {
    api.post(base, serve(CreateKeys));
    api.get(base, serve(AssignKey));
    api.get(`${base}/:id`, serve(GetKey));
    api.get(`${base}/:id/info`, serve(GetKeyInfo));
    api.delete(`${base}/:id`, serve(DeleteKey));
    api.put(`${base}/:id`, serve(UpdateKey));
    api.put(`${base}/:id/alive`, serve(KeepAlive));
  }
  // The operator API (admin only; each endpoint declares its `access`).
  api.get("/pools/:pool", GetPool);
  api.get("/pools/:pool/list", ListKeys);
  api.put("/pools/:pool/settings", UpdateSettings);
  return api;
}

// Parsed once per env object; a bad variable answers every request with a message naming it.
const checkedEnvs = new WeakSet<Env>();

function checkConfig(_request: IRequest, env: Env): undefined {
  if (checkedEnvs.has(env)) return;
  parseTimings(env);
  parseMaxHoldMs(env);
  checkedEnvs.add(env);
}

/**
 * itty-router matches `/keys/` like `/keys`; a client whose id came out empty would then be assigned
 * a key instead of being told its path is wrong.
 */
function rejectTrailingSlash(request: IRequest): Response | undefined {
  const { pathname } = new URL(request.url);
  if (pathname.length > 1 && pathname.endsWith("/")) return errorResponse(new HttpError(404, "Not found"));
}

/** The one place an error becomes a response. Internals never reach the client. */
function toErrorResponse(error: unknown): Response {
  if (error instanceof HttpError) return errorResponse(error);
  if (error instanceof ApiException && error.status === 400) {
    // chanfana's validation errors: one per failed field, with where it was.
    const details = error.buildResponse().map(({ message, path }: { message: string; path?: string[] }) => ({
      path: (path ?? []).join("."),
      message,
    }));
    const first = details[0];
    const summary =
      first === undefined ? "Invalid request" : `Invalid request: ${first.path || "input"}: ${first.message}`;
    return errorResponse(new HttpError(400, summary, details));
  }
  if (error instanceof ConfigError) {
    return errorResponse(new HttpError(500, `Server misconfigured: ${error.message}`));
  }
  console.error(JSON.stringify({ event: "unhandled_error", error: describe(error) }));
  return errorResponse(new HttpError(500, "Internal error"));
}

/** Name and message only: our errors never carry key values, and request payloads are not logged. */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
}

/** Unknown path: 404. Known path, other method: 405 with `Allow`. */
function notFoundOrNotAllowed(routes: ReadonlyArray<[string, RegExp, ...unknown[]]>, request: IRequest): Response {
  const { pathname } = new URL(request.url);
  const allowed = new Set<string>();
  for (const [method, pattern] of routes) if (pattern.test(pathname)) allowed.add(method);
  if (allowed.size === 0) return errorResponse(new HttpError(404, "Not found"));
  const allow = [...allowed, "OPTIONS"].join(", ");
  return errorResponse(
    new HttpError(405, `Method ${request.method} not allowed; allowed: ${allow}`, undefined, { Allow: allow }),
  );
}

function withStandardHeaders(response: Response): Response {
  const headers = response.headers;
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Access-Control-Expose-Headers", "Allow, Retry-After, WWW-Authenticate");
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  return response;
}
