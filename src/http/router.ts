import { type IRequest, Router } from "itty-router";
import { ConfigError, configOf } from "../config";
import { errorText, logError } from "../log";
import { authenticate } from "./auth";
import { preflight, withCors } from "./cors";
import { AssignKey } from "./endpoints/assign-key";
import { CreateKeys } from "./endpoints/create-keys";
import { DeleteKey } from "./endpoints/delete-key";
import { GetAudit } from "./endpoints/get-audit";
import { GetKey } from "./endpoints/get-key";
import { GetKeyInfo } from "./endpoints/get-key-info";
import { GetMetrics } from "./endpoints/get-metrics";
import { GetPool } from "./endpoints/get-pool";
import { GetPoolMetrics } from "./endpoints/get-pool-metrics";
import { KeepAlive } from "./endpoints/keep-alive";
import { ListKeys } from "./endpoints/list-keys";
import { ListPools } from "./endpoints/list-pools";
import { ReportKey } from "./endpoints/report-key";
import { RetirePool } from "./endpoints/retire-pool";
import { UpdateKey } from "./endpoints/update-key";
import { UpdateSettings } from "./endpoints/update-settings";
import { errorResponse, HttpError, internalError, poolRestarted } from "./errors";
import { home } from "./home";
import { ApiDocument } from "./openapi";
import { policyHeader } from "./rate-limit";
import { type Endpoint, handlerOf, inNamedPool, type RequestState, type RouterArgs } from "./route";

const KEY_ENDPOINTS: Endpoint[] = [
  CreateKeys,
  AssignKey,
  GetKey,
  GetKeyInfo,
  DeleteKey,
  UpdateKey,
  KeepAlive,
  ReportKey,
];

/** Every endpoint, in the document's order: each `/keys` one, again under `/pools/{pool}`, then the operator API. */
const ENDPOINTS: readonly Endpoint[] = [
  ...KEY_ENDPOINTS,
  ...KEY_ENDPOINTS.map(inNamedPool),
  // Admin only; each endpoint declares its `access`.
  ListPools,
  GetPool,
  ListKeys,
  UpdateSettings,
  RetirePool,
  GetAudit,
  GetPoolMetrics,
  GetMetrics,
];

const document = new ApiDocument(ENDPOINTS);

/** The Worker's HTTP API: every `/keys` route, served again under `/pools/{pool}`, the operator API and the document. */
export function buildRouter(): { fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> } {
  const router = Router<IRequest, RouterArgs>({
    before: [preflight, checkConfig, authenticate, rejectTrailingSlash],
    catch: toErrorResponse,
    finally: [
      (
        response: Response | undefined,
        request: IRequest,
        _env: Env,
        _ctx: ExecutionContext,
        state: RequestState,
      ): Response => response ?? notFoundOrNotAllowed(router.routes, request.method, state.url.pathname),
      finish,
    ],
  });
  router.get("/", (_request: IRequest, env: Env, _ctx: ExecutionContext, state: RequestState) =>
    Response.json(home(env, state.url)),
  );
  router.get("/openapi.json", (_request: IRequest, env: Env) =>
    text(document.json(configOf(env)), "application/json; charset=utf-8"),
  );
  router.get("/openapi.yaml", (_request: IRequest, env: Env) =>
    text(document.yaml(configOf(env)), "text/yaml; charset=utf-8"),
  );
  for (const endpoint of ENDPOINTS) router[endpoint.method](endpoint.path, handlerOf(endpoint));
  return {
    // The URL is parsed once here for every step (itty-router parses its own copy to match routes).
    fetch: (request, env, ctx) => router.fetch(request, env, ctx, { url: new URL(request.url) }),
  };
}

/** Parses the configuration (once per env): a bad variable answers every request with a message naming it. */
function checkConfig(_request: IRequest, env: Env): undefined {
  configOf(env);
}

/**
 * itty-router matches `/keys/` like `/keys`; a client whose id came out empty would then be assigned
 * a key instead of being told its path is wrong.
 */
function rejectTrailingSlash(_request: IRequest, _env: Env, _ctx: ExecutionContext, state: RequestState) {
  const { pathname } = state.url;
  if (pathname.length > 1 && pathname.endsWith("/")) return errorResponse(new HttpError(404, "Not found"));
}

/** The one place an error becomes a response. Internals never reach the client. */
function toErrorResponse(error: unknown): Response {
  if (error instanceof HttpError) return errorResponse(error);
  if (error instanceof ConfigError) {
    return errorResponse(new HttpError(500, `Server misconfigured: ${error.message}`));
  }
  if (isRetryable(error)) {
    // The pool's object restarted under the call (a deploy, an eviction), ending it; nothing half done
    // stays: a transaction commits whole or not at all.
    logError({ event: "pool_restarted", error: errorText(error) });
    return errorResponse(poolRestarted());
  }
  logError({ event: "unhandled_error", error: errorText(error) });
  return errorResponse(internalError());
}

/** The runtime marks an error of a Durable Object call that may succeed if retried (`retryable`). */
function isRetryable(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/** Unknown path: 404. Known path, other method: 405 with `Allow`. */
function notFoundOrNotAllowed(
  routes: ReadonlyArray<[string, RegExp, ...unknown[]]>,
  method: string,
  pathname: string,
): Response {
  const allowed = new Set<string>();
  for (const [routeMethod, pattern] of routes) if (pattern.test(pathname)) allowed.add(routeMethod);
  if (allowed.size === 0) return errorResponse(new HttpError(404, "Not found"));
  const allow = [...allowed, "OPTIONS"].join(", ");
  return errorResponse(
    new HttpError(405, `Method ${method} not allowed; allowed: ${allow}`, undefined, { Allow: allow }),
  );
}

function text(body: string, contentType: string): Response {
  return new Response(body, { headers: { "content-type": contentType } });
}

/**
 * The headers every answer carries, and the caller's quota on answers to rate-limited callers. Every
 * response here is one this Worker made, so its headers can be set in place instead of copying it.
 */
function finish(
  response: Response,
  request: IRequest,
  env: Env,
  _ctx: ExecutionContext,
  state: RequestState,
): Response {
  const headers = response.headers;
  headers.set("X-Content-Type-Options", "nosniff");
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
  if (state.rateLimit !== undefined) headers.set("RateLimit-Policy", policyHeader(state.rateLimit));
  return withCors(response, request, env);
}
