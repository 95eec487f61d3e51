import { coerceInputs, contentJson, OpenAPIRoute, type OpenAPIRouteSchema } from "chanfana";
import type { IRequest } from "itty-router";
import { z } from "zod";
import type { KeyPool } from "../key-pool";
import type { IdempotencyToken } from "../pool/idempotency";
import type { Outcome } from "../pool/outcome";
import { type Access, withAccess } from "./access-openapi";
import { requireAdmin } from "./auth";
import { readJsonBody } from "./body";
import { HttpError, refusalError } from "./errors";
import { idempotencyToken } from "./idempotency";
import { DEFAULT_POOL, ErrorBody, IDEMPOTENCY_HEADER, PoolName } from "./schemas";

/** What the router passes a handler after the request. */
export type WorkerArgs = [env: Env, ctx: ExecutionContext];
export type RouteArgs = [request: IRequest, ...WorkerArgs];

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input: malformed JSON, a wrong type or value, an unknown parameter or a bad pool name",
  403: "The key is blocked",
  404: "Not found",
  409: "Lease conflict",
  413: "Body larger than 64 KiB",
  415: "Content-Type is not application/json",
  422: "The Idempotency-Key was already used for a different request",
  500: "Internal error (e.g. a misconfigured variable); never caused by client input",
};

/**
 * OpenAPI `responses` entries for error statuses, each with the one error body shape. Every
 * operation can answer 400 (a malformed request) and 500, so those are always included.
 */
export function errorResponses(...statuses: number[]): OpenAPIRouteSchema["responses"] {
  const responses: NonNullable<OpenAPIRouteSchema["responses"]> = {};
  for (const status of [400, ...statuses, 500].sort((a, b) => a - b)) {
    responses[String(status)] = { description: ERROR_DESCRIPTIONS[status] ?? "Error", ...contentJson(ErrorBody) };
  }
  return responses;
}

/**
 * Base of every `/keys` endpoint. It reads the body strictly (chanfana alone would treat malformed
 * JSON as an empty body), resolves the pool's Durable Object, and turns refusals into HTTP errors.
 */
export class PoolRoute extends OpenAPIRoute<RouteArgs> {
  /**
   * Which roles may call the endpoint. Admin-only endpoints refuse other roles here, before the
   * request is even validated; a `client-with-lease` endpoint checks the lease itself.
   */
  protected readonly access: Access = "client";

  override getSchema(): OpenAPIRouteSchema {
    return withAccess(super.getSchema(), this.access);
  }

  override execute(...args: RouteArgs): Promise<Response> {
    if (this.access === "admin") requireAdmin(args[0], "this call");
    return super.execute(...args);
  }

  override async getUnvalidatedData(): Promise<Record<string, unknown>> {
    if (this.unvalidatedData !== undefined) return this.unvalidatedData;
    const [request] = this.args;
    const { request: parts } = this.getSchemaZod();
    const data: Record<string, unknown> = {};
    if (parts?.params) data.params = coerceInputs(request.params, parts.params) ?? {};
    const { searchParams } = new URL(request.url);
    if (parts?.query) data.query = coerceInputs(searchParams, parts.query) ?? {};
    else if (searchParams.size > 0) {
      // Like unknown body fields: a misspelt parameter must not be silently ignored.
      const [name] = searchParams.keys();
      throw new HttpError(400, `Unknown query parameter "${String(name).slice(0, 64)}"`);
    }
    if (parts?.headers && !Array.isArray(parts.headers)) {
      const names = Object.keys(parts.headers.shape);
      data.headers = Object.fromEntries(names.map((name) => [name, request.headers.get(name) ?? undefined]));
    }
    if (parts?.body) data.body = await readJsonBody(request);
    this.unvalidatedData = data;
    return data;
  }

  /** The pool this request addresses, after validation. */
  protected async pool(): Promise<DurableObjectStub<KeyPool>> {
    const { params } = await this.getValidatedData();
    const name = (params as { pool?: string } | undefined)?.pool ?? DEFAULT_POOL;
    return this.args[1].KEY_POOL.getByName(name);
  }

  /** The digests for the `Idempotency-Key` this request carries, after validation; none without one. */
  protected async idempotency(): Promise<IdempotencyToken | undefined> {
    const { headers, query, body } = (await this.getValidatedData()) as {
      headers?: Record<string, string | undefined>;
      query?: unknown;
      body?: unknown;
    };
    const key = headers?.[IDEMPOTENCY_HEADER];
    return key === undefined ? undefined : idempotencyToken(key, this.args[0], { query, body });
  }
}

/** The value of a successful pool operation; a refusal becomes its HTTP error. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw refusalError(outcome.refusal);
  return outcome.value;
}

/** The same endpoint served under `/pools/{pool}`: adds the pool path parameter. */
export function inNamedPool(Endpoint: typeof PoolRoute): typeof PoolRoute {
  return class InNamedPool extends Endpoint {
    override getSchema(): OpenAPIRouteSchema {
      const schema = super.getSchema();
      const params = z.object({ pool: PoolName }).extend(schema.request?.params?.shape ?? {});
      return {
        ...schema,
        operationId: `${schema.operationId}InPool`,
        request: { ...schema.request, params },
        responses: schema.responses,
      };
    }
  };
}

/** A JSON response with a status other than 200. */
export function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}
