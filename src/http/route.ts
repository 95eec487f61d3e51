import type { IRequest } from "itty-router";
import * as z from "zod";
import { type Config, configOf, type Role } from "../config";
import { actorFingerprint } from "../crypto/actor-key";
import type { KeyPool } from "../key-pool";
import type { Outcome, Refusal } from "../outcome";
import type { Actor } from "../pool/audit";
import type { IdempotencyToken } from "../pool/idempotency";
import type { Claim } from "../pool/rules";
import { type Access, ADMIN_ONLY } from "./access";
import { requireAdmin } from "./auth";
import { readJsonBody } from "./body";
import { type DirectoryPage, directoryPage } from "./directory-page";
import { invalidRequest, type Problem, refusalError } from "./errors";
import { LEASE_TOKEN_HEADER, presentedHolder, type ReplayScope } from "./holder";
import { idempotencyToken } from "./idempotency";
import { requireExistingPool } from "./pools";
import type { RateLimitPolicy } from "./rate-limit";
import { DEFAULT_POOL, IDEMPOTENCY_HEADER, PoolName } from "./schemas";

/** What the Worker works out about a request once, for every step that needs it. */
export interface RequestState {
  /** The request's URL, parsed once. */
  readonly url: URL;
  /** The caller's role, once `authenticate` has granted one. */
  role?: Role;
  /** Who the caller is: its token's SHA-256 (one fixed value in local mode). */
  caller?: Uint8Array;
  /** The quota the caller is counted against; none for admins (and in the local development mode). */
  rateLimit?: RateLimitPolicy;
}

/** What the router passes every handler after the request. */
export type RouterArgs = [env: Env, ctx: ExecutionContext, state: RequestState];

type Method = "get" | "post" | "put" | "delete";

/** The parts of a request an endpoint reads; each is validated with its zod schema before the handler runs. */
export interface RequestParts {
  /** Path parameters (`:name` in the path), as strings. */
  params?: z.ZodObject;
  /**
   * Query parameters. Declare it strict: an unknown parameter is then a 400 like any other mistake.
   * An endpoint without it refuses every query parameter. Values arrive as text (an empty one as
   * null, a repeated one as an array): wrap a number's schema in `queryNumber`.
   */
  query?: z.ZodObject;
  /** Request headers, each read by the name its key has. */
  headers?: z.ZodObject;
  /**
   * A JSON body, read strictly (see body.ts). An empty body reads as undefined, which only an optional
   * schema accepts; `required` says which it is in the document. `maxBytes` (64 KiB unless given) is
   * the largest body read; a larger one is 413.
   */
  body?: { schema: z.ZodType; required: boolean; maxBytes?: number };
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** An endpoint's validated input. */
export interface Input<P extends RequestParts> {
  params: Parsed<P["params"]>;
  query: Parsed<P["query"]>;
  headers: Parsed<P["headers"]>;
  body: P["body"] extends { schema: infer S } ? Parsed<S> : undefined;
}

/**
 * One endpoint, declared once: its route, the schemas that validate its input, what it answers (which
 * also goes into /openapi.json), who may call it, and what it does. The compiler checks that what
 * `handle` returns is what `success.schema` describes.
 */
export interface Endpoint<P extends RequestParts = RequestParts, S extends z.ZodType = z.ZodType> {
  readonly method: Method;
  /** itty-router syntax (`/keys/:id`). */
  readonly path: string;
  readonly operationId: string;
  readonly tags: string[];
  readonly summary: string;
  readonly description?: string;
  /**
   * Which roles may call it. Admin-only endpoints refuse other roles before the request is even
   * validated; a `client-holder` endpoint checks the holder's proof itself.
   */
  readonly access: Access;
  readonly request: P;
  /**
   * The answer when it works: what the handler returns, as JSON with this status; or, with a
   * `mediaType`, the text the handler returns (its schema a string), sent as that type. Errors are
   * JSON either way.
   */
  readonly success: { status: number; description: string; schema: S; mediaType?: string };
  /**
   * The pool's refusals it can answer with, each as its own status and message (errors.ts). 400 and
   * 500 (every endpoint's), 413 and 415 (every endpoint with a body) and access control's come on top.
   */
  readonly refusals: readonly Refusal[];
  handle(input: Input<P>, call: Call): Promise<z.input<S>>;
}

/** Declares an endpoint; only infers its input's and its answer's types from its schemas. */
export function endpoint<P extends RequestParts, S extends z.ZodType>(declaration: Endpoint<P, S>): Endpoint<P, S> {
  return declaration;
}

/** The same `/keys...` endpoint served under `/pools/{pool}`: adds the pool path parameter. */
export function inNamedPool(keys: Endpoint): Endpoint {
  return {
    ...keys,
    path: `/pools/:pool${keys.path}`,
    operationId: `${keys.operationId}InPool`,
    request: { ...keys.request, params: z.object({ pool: PoolName }).extend(keys.request.params?.shape ?? {}) },
  };
}

/** What a handler gets besides its input: the configuration, the pool the request addresses, the caller. */
export class Call {
  constructor(
    private readonly env: Env,
    private readonly request: IRequest,
    private readonly state: RequestState,
    private readonly input: Input<RequestParts>,
  ) {}

  get config(): Config {
    return configOf(this.env);
  }

  get isAdmin(): boolean {
    return this.state.role === "admin";
  }

  /** 403 unless the caller is an admin; `what` says what needs it. */
  requireAdmin(what: string): void {
    requireAdmin(this.state, what);
  }

  /** The pool's Durable Object (`{pool}` of the path, else the default pool); 404 unless an admin made it. */
  async pool(): Promise<DurableObjectStub<KeyPool>> {
    const name = this.#poolName();
    await requireExistingPool(this.env, name);
    return this.env.KEY_POOL.getByName(name);
  }

  /**
   * The pool's Durable Object, for an admin's call that makes the pool if it does not exist yet (the
   * object registers it in the directory as it makes it).
   */
  poolToMake(): DurableObjectStub<KeyPool> {
    return this.env.KEY_POOL.getByName(this.#poolName());
  }

  /** A page of the directory of pools after `cursor`, each pool with its statistics (directory-page.ts). */
  directoryPage(cursor: string | undefined, limit: number): Promise<DirectoryPage> {
    return directoryPage(this.env, cursor, limit);
  }

  /** The pool's name: `{pool}` of the path, else the default pool. */
  get poolName(): string {
    return this.#poolName();
  }

  /** Who the caller is, and what it presents as a key's holder: `lease` and the `KeyPool-Lease-Token`. */
  async claim(lease?: number): Promise<Claim> {
    const token = (this.input.headers as Record<string, string | undefined> | undefined)?.[LEASE_TOKEN_HEADER];
    return { admin: this.isAdmin, lease, holder: await presentedHolder(token) };
  }

  /** Who is calling, for the audit trail: the role and a keyed fingerprint of the token, never the token. */
  async actor(): Promise<Actor> {
    const role = this.state.role;
    if (role === undefined) throw new Error("request was not authenticated");
    return { role, token: await actorFingerprint(await this.config.actorKey, this.#caller()) };
  }

  /**
   * The `Idempotency-Key` this request carries, scoped to its caller; none without one. A request
   * whose body `carriesSecrets` (imported values) is identified by a keyed digest, never a plain one.
   */
  idempotency(
    carriesSecrets = false,
  ): { key: string; scope: ReplayScope; token: Promise<IdempotencyToken> } | undefined {
    const key = (this.input.headers as Record<string, string | undefined> | undefined)?.[IDEMPOTENCY_HEADER];
    if (key === undefined) return undefined;
    const caller = this.#caller();
    const { query, body } = this.input;
    const request = { method: this.request.method, pathname: this.state.url.pathname, query, body, carriesSecrets };
    return { key, scope: { idempotencyKey: key, caller }, token: idempotencyToken(key, caller, request) };
  }

  #poolName(): string {
    return (this.input.params as { pool?: string } | undefined)?.pool ?? DEFAULT_POOL;
  }

  #caller(): Uint8Array {
    if (this.state.caller === undefined) throw new Error("request was not authenticated");
    return this.state.caller;
  }
}

/** The value of a successful pool operation; a refusal becomes its HTTP error. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw refusalError(outcome);
  return outcome.value;
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

/**
 * The itty-router handler of an endpoint. Everything that does not depend on the request (which
 * headers to read) is worked out here, once.
 */
export function handlerOf(endpoint: Endpoint): (request: IRequest, ...args: RouterArgs) => Promise<Response> {
  const { request: parts, access, success } = endpoint;
  const headerNames = parts.headers && Object.keys(parts.headers.shape);

  return async (request, env, _ctx, state) => {
    if (access === "admin") requireAdmin(state, ADMIN_ONLY.admin);
    const raw: Partial<Record<Part, unknown>> = {};
    if (parts.params) raw.params = request.params;
    if (parts.query) raw.query = queryValues(request.query);
    else refuseQuery(request.query);
    if (headerNames) {
      const headers: Record<string, string | undefined> = {};
      for (const name of headerNames) headers[name] = request.headers.get(name) ?? undefined;
      raw.headers = headers;
    }
    if (parts.body) raw.body = await readJsonBody(request, parts.body.maxBytes);

    const input = validate(parts, raw);
    const answer = await endpoint.handle(input, new Call(env, request, state, input));
    if (success.mediaType === undefined) return json(answer, success.status);
    return new Response(String(answer), { status: success.status, headers: { "content-type": success.mediaType } });
  };
}

export const UNKNOWN_PARAMETER = "Unknown query parameter";

/** Like unknown body fields: a misspelt parameter must not be silently ignored. */
function refuseQuery(query: Record<string, unknown>): void {
  for (const name in query) throw invalidRequest([{ path: `query.${name.slice(0, 64)}`, message: UNKNOWN_PARAMETER }]);
}

const PARTS = ["params", "query", "headers", "body"] as const;
type Part = (typeof PARTS)[number];

/**
 * Validates every part, and reports every wrong input at once: `details` has one entry per problem,
 * with where it was (`body.count`, `query.lease`, `params.pool`).
 */
function validate(parts: RequestParts, raw: Partial<Record<Part, unknown>>): Input<RequestParts> {
  const input: Partial<Record<Part, unknown>> = {};
  const problems: Problem[] = [];
  for (const part of PARTS) {
    const schema = part === "body" ? parts.body?.schema : parts[part];
    if (schema === undefined) continue;
    const result = schema.safeParse(raw[part]);
    if (result.success) input[part] = result.data;
    else for (const issue of result.error.issues) problems.push(...problemsOf(part, issue));
  }
  const [first, ...rest] = problems;
  if (first !== undefined) throw invalidRequest([first, ...rest]);
  return input as Input<RequestParts>;
}

/**
 * An issue as the caller reads it. An unknown field or parameter is named in the path, as every other
 * wrong input is (`query.leese`, `body.extra`), rather than zod's "Unrecognized key" on the object.
 */
function problemsOf(part: Part, issue: z.core.$ZodIssue): Problem[] {
  const at = [part, ...issue.path.map(String)];
  if (issue.code !== "unrecognized_keys") return [{ path: at.join("."), message: issue.message }];
  const message = part === "query" ? UNKNOWN_PARAMETER : UNKNOWN_FIELD;
  return issue.keys.map((key) => ({ path: [...at, key.slice(0, 64)].join("."), message }));
}

export const UNKNOWN_FIELD = "Unknown field";

/**
 * Query values as the schemas get them: text, an empty value as null and a repeated one as an array,
 * the same rules chanfana applied, so the same inputs answer the same.
 */
function queryValues(values: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const text: Record<string, unknown> = {};
  for (const name in values) {
    const value = values[name];
    text[name] = typeof value === "string" ? emptyAsNull(value) : value?.map(emptyAsNull);
  }
  return text;
}

function emptyAsNull(value: string): string | null {
  return value === "" ? null : value;
}
