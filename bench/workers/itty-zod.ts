/**
 * Bench-only variant of the HTTP layer: the same routes, schemas, body reader, errors, CORS and
 * headers as src/http, but validated by zod directly on a plain itty-router, with the OpenAPI
 * document generated from the same schemas by @asteasolutions/zod-to-openapi (what chanfana builds
 * on) when /openapi.json is first asked for. It exists to measure what chanfana costs per request,
 * in bundle size and at start-up; BENCHMARKS.md has the figures.
 */
import "./zod-openapi";
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { AutoRouter, cors, type IRequest } from "itty-router";
import { z } from "zod";
import { authenticate, requireAdmin } from "../../src/http/auth";
import { readJsonBody } from "../../src/http/body";
import { errorResponse, HttpError, refusalError } from "../../src/http/errors";
import {
  Assignment,
  BlockResult,
  CreateBody,
  Created,
  CreatedMany,
  DEFAULT_POOL,
  Deleted,
  ErrorBody,
  KeyId,
  KeyInfo,
  KeyValue,
  Lease,
  PoolName,
  UpdateBody,
} from "../../src/http/schemas";
import type { KeyPool } from "../../src/key-pool";
import { parseTimings } from "../../src/pool/config";
import type { Outcome } from "../../src/pool/outcome";

// A complete Worker like src/index.ts, so the bundle sizes compare like for like.
export { KeyPool } from "../../src/key-pool";

type Pool = DurableObjectStub<KeyPool>;
type Shape = z.ZodRawShape;

interface Route<P extends Shape, Q extends Shape, B extends z.ZodType> {
  method: "get" | "post" | "put" | "delete";
  /** Under the mount, in itty-router syntax. */
  path: string;
  operationId: string;
  summary: string;
  params: P;
  query?: z.ZodObject<Q>;
  body?: B;
  bodyRequired?: boolean;
  status: number;
  response: z.ZodType;
  errors: number[];
  /** Only an admin token may call it (the rest take a client token too). */
  adminOnly?: boolean;
  handle(
    input: { params: z.infer<z.ZodObject<P>>; query: z.infer<z.ZodObject<Q>>; body: z.infer<B> },
    pool: Pool,
  ): Promise<unknown>;
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw refusalError(outcome.refusal);
  return outcome.value;
}

const id = { id: KeyId };
const routes = [
  route({
    method: "post",
    path: "",
    operationId: "createKeys",
    adminOnly: true,
    summary: "Create a key, or `count` keys in one transaction",
    params: {},
    body: CreateBody.optional(),
    status: 201,
    response: Created.or(CreatedMany),
    errors: [400, 413, 415],
    handle: async ({ body }, pool) =>
      body?.count === undefined ? { keyId: (await pool.create(1))[0] } : { keyIds: await pool.create(body.count) },
  }),
  route({
    method: "get",
    path: "",
    operationId: "assignKey",
    summary: "Get a free key, chosen uniformly at random, and block it for everyone else",
    params: {},
    status: 200,
    response: Assignment,
    errors: [404],
    handle: async (_input, pool) => unwrap(await pool.assign()),
  }),
  route({
    method: "get",
    path: "/:id",
    operationId: "getKey",
    summary: "Get a key's value if it is usable (not blocked); changes nothing",
    params: id,
    status: 200,
    response: KeyValue,
    errors: [403, 404],
    handle: async ({ params }, pool) => unwrap(await pool.reveal(params.id)),
  }),
  route({
    method: "get",
    path: "/:id/info",
    operationId: "getKeyInfo",
    summary: "A key's state and deadlines (never its value)",
    params: id,
    status: 200,
    response: KeyInfo,
    errors: [404],
    handle: async ({ params }, pool) => unwrap(await pool.info(params.id)),
  }),
  route({
    method: "delete",
    path: "/:id",
    operationId: "deleteKey",
    adminOnly: true,
    summary: "Remove a key for good (a blocked one too)",
    params: id,
    status: 200,
    response: Deleted,
    errors: [404],
    handle: async ({ params }, pool) => ({ ...unwrap(await pool.remove(params.id)), deleted: true }),
  }),
  route({
    method: "put",
    path: "/:id",
    operationId: "updateKey",
    summary: "Unblock (`blocked: false`) or block (`blocked: true`) a key",
    params: id,
    body: UpdateBody,
    bodyRequired: true,
    status: 200,
    response: BlockResult,
    errors: [400, 404, 409, 413, 415],
    handle: async ({ params, body }, pool) => unwrap(await pool.setBlocked(params.id, body.blocked, body.lease)),
  }),
  route({
    method: "put",
    path: "/:id/alive",
    operationId: "keepAlive",
    summary: "Keep a key alive: lastActivity = now, expiresAt = now + KEY_TTL (blocked keys too)",
    params: id,
    query: z.strictObject({ lease: z.coerce.number().pipe(Lease).optional() }),
    status: 200,
    response: KeyInfo,
    errors: [400, 404, 409],
    handle: async ({ params, query }, pool) => unwrap(await pool.keepAlive(params.id, query.lease)),
  }),
];

/** Declares a route once; `mount` serves it, validated, and registers it for the OpenAPI document. */
function route<P extends Shape, Q extends Shape, B extends z.ZodType>(spec: Route<P, Q, B>) {
  return spec as unknown as Route<Shape, Shape, z.ZodType>;
}

const { preflight, corsify } = cors({
  origin: "*",
  allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
  allowHeaders: ["Content-Type", "Authorization", "Idempotency-Key"],
  maxAge: 86400,
});

const registry = new OpenAPIRegistry();
const router = AutoRouter<IRequest, [Env, ExecutionContext]>({
  before: [preflight, checkConfig, authenticate],
  catch: toErrorResponse,
  finally: [corsify, withStandardHeaders],
  missing: () => errorResponse(new HttpError(404, "Not found")),
});

for (const [mount, poolParam] of [
  ["/keys", {}],
  ["/pools/:pool/keys", { pool: PoolName }],
] as const) {
  for (const spec of routes) {
    const params = z.object({ ...poolParam, ...spec.params });
    const query = spec.query ?? z.object({});
    router[spec.method](mount + spec.path, async (request: IRequest, env: Env) => {
      if (spec.adminOnly) requireAdmin(request, "this call");
      const input = {
        params: validate(params, request.params, "params"),
        query: validate(query, Object.fromEntries(new URL(request.url).searchParams), "query"),
        body: spec.body === undefined ? undefined : validate(spec.body, await readJsonBody(request), "body"),
      };
      const pool = env.KEY_POOL.getByName((input.params as { pool?: string }).pool ?? DEFAULT_POOL);
      const answer = await spec.handle(input, pool);
      return new Response(JSON.stringify(answer), {
        status: spec.status,
        headers: { "content-type": "application/json; charset=utf-8" },
      });
    });
    registry.registerPath({
      method: spec.method,
      path: (mount + spec.path).replace(/:(\w+)/g, "{$1}"),
      operationId: mount === "/keys" ? spec.operationId : `${spec.operationId}InPool`,
      summary: spec.summary,
      request: {
        params,
        query,
        ...(spec.body && {
          body: { required: spec.bodyRequired ?? false, content: { "application/json": { schema: spec.body } } },
        }),
      },
      responses: Object.fromEntries([
        [String(spec.status), { description: "Success", content: { "application/json": { schema: spec.response } } }],
        ...[...spec.errors, 500].map((status) => [
          String(status),
          { description: "Error", content: { "application/json": { schema: ErrorBody } } },
        ]),
      ]),
    });
  }
}

let document: string | undefined;
router.get("/openapi.json", () => {
  document ??= JSON.stringify(
    new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: { title: "KeyPool", version: "1.0.0" },
    }),
  );
  return new Response(document, { headers: { "content-type": "application/json; charset=utf-8" } });
});

function validate<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: [where, ...issue.path].join("."),
    message: issue.message,
  }));
  const first = details[0];
  throw new HttpError(400, `Invalid request: ${first?.path}: ${first?.message}`, details);
}

const checkedEnvs = new WeakSet<Env>();

function checkConfig(_request: IRequest, env: Env): undefined {
  if (checkedEnvs.has(env)) return;
  parseTimings(env);
  checkedEnvs.add(env);
}

function toErrorResponse(error: unknown): Response {
  if (error instanceof HttpError) return errorResponse(error);
  return errorResponse(new HttpError(500, "Internal error"));
}

function withStandardHeaders(response: Response): Response {
  response.headers.set("X-Content-Type-Options", "nosniff");
  response.headers.set("Access-Control-Expose-Headers", "Allow, Retry-After");
  if (!response.headers.has("Cache-Control")) response.headers.set("Cache-Control", "no-store");
  return response;
}

export default { fetch: router.fetch } satisfies ExportedHandler<Env>;
