import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { dump } from "js-yaml";
import type { Config } from "../config";
import { BEARER_SCHEME, bearerScheme, withAccess } from "./access-openapi";
import { MAX_BODY_BYTES } from "./body";
import { errorComponents, operationErrors } from "./openapi-errors";
import { HEADERS, headersOf } from "./openapi-headers";
import type { Endpoint } from "./route";
import { ErrorBody } from "./schemas";

const INFO = {
  title: "KeyPool",
  version: "1.0.0",
  description:
    "A durable pool of API keys. Keys expire KEY_TTL_SECONDS after their last keep-alive; " +
    "a blocked key is released BLOCK_TTL_SECONDS after it was blocked. Every error is JSON " +
    '`{"error": string, "details"?: [{"path", "message"}]}`. Every call needs a bearer token of the admin or ' +
    "client role; clients are rate-limited per token, callers without a valid token per address.",
  // KeyPool is self-hosted: whoever deployed this one runs it.
  contact: { name: "The operators of this KeyPool deployment" },
  // The repository grants no license; say so rather than leave a reader to guess.
  license: { name: "UNLICENSED (no license granted; all rights reserved)" },
};

const TAGS = [
  { name: "Keys", description: "Create, assign, read, keep alive, block, release and delete keys." },
  {
    name: "Pools",
    description: "Which pools exist; a pool's statistics, its keys page by page, and its settings (operators).",
  },
  { name: "Metrics", description: "Pools' counts and counters in the Prometheus text format, to scrape (operators)." },
];

// Relative: the origin that serves this document is the API, wherever it is deployed. Public, not an
// internal-only API (x-internal, which API inventories read).
const SERVERS = [
  {
    url: "/",
    description: "This KeyPool, the origin that served this document: production when deployed, local under npm start",
    "x-internal": false,
  },
];

/**
 * The OpenAPI 3.1 document of the endpoints, generated from their own schemas the first time it is
 * asked for (not at start-up), once per configuration: a bound set by a var (MAX_HOLD_SECONDS) is
 * stated as the server enforces it.
 */
export class ApiDocument {
  readonly #json = new Map<string, string>();
  readonly #yaml = new Map<string, string>();

  constructor(private readonly endpoints: readonly Endpoint[]) {}

  json(config: Config): string {
    const key = cacheKey(config);
    let text = this.#json.get(key);
    if (text === undefined) {
      text = JSON.stringify(this.generate(config));
      this.#json.set(key, text);
    }
    return text;
  }

  yaml(config: Config): string {
    const key = cacheKey(config);
    let text = this.#yaml.get(key);
    if (text === undefined) {
      text = dump(JSON.parse(this.json(config)));
      this.#yaml.set(key, text);
    }
    return text;
  }

  private generate(config: Config) {
    const registry = new OpenAPIRegistry();
    registry.registerComponent("securitySchemes", BEARER_SCHEME, bearerScheme);
    for (const [name, header] of Object.entries(HEADERS)) registry.registerComponent("headers", name, header);
    // Error answers refer to the error body by reference (they are components), so it is registered here.
    registry.register("Error", ErrorBody);
    const errors = errorComponents(config);
    for (const [name, example] of Object.entries(errors.examples))
      registry.registerComponent("examples", name, example);
    for (const [name, answer] of Object.entries(errors.responses))
      registry.registerComponent("responses", name, answer);
    for (const endpoint of this.endpoints) registry.registerPath(operationOf(endpoint));
    const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: INFO,
      servers: SERVERS,
      tags: TAGS,
    });
    return withHoldMaximum(document, config.maxHoldMs / 1000);
  }
}

/** What the document depends on besides the code. */
function cacheKey(config: Config): string {
  return `${config.maxHoldMs}:${config.rateLimitRequests}:${config.rateLimitPeriodSeconds}`;
}

function operationOf(endpoint: Endpoint) {
  const { request, success } = endpoint;
  const responses = {
    [success.status]: {
      description: success.description,
      headers: headersOf(),
      content: { [success.mediaType ?? "application/json"]: { schema: success.schema } },
    },
    ...operationErrors({
      hasPool: request.params?.shape.pool !== undefined,
      maxBodyBytes: request.body === undefined ? undefined : (request.body.maxBytes ?? MAX_BODY_BYTES),
      refusals: endpoint.refusals,
      access: endpoint.access,
    }),
  };
  const { description, security } = withAccess(endpoint.description, endpoint.access);
  return {
    method: endpoint.method,
    path: endpoint.path.replace(/:(\w+)/g, "{$1}"),
    operationId: endpoint.operationId,
    tags: endpoint.tags,
    summary: endpoint.summary,
    description,
    request: {
      params: request.params,
      query: request.query,
      headers: request.headers,
      body: request.body && {
        content: { "application/json": { schema: request.body.schema } },
        required: request.body.required,
      },
    },
    responses,
    security,
  };
}

type Document = ReturnType<OpenApiGeneratorV31["generateDocument"]>;

/**
 * `holdSeconds` is at most MAX_HOLD_SECONDS, a var the handler reads at run time (its zod schema
 * cannot know it), so the generated parameters get their `maximum` here.
 */
function withHoldMaximum(document: Document, maxHoldSeconds: number): Document {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of [item.get, item.put, item.post, item.delete]) {
      for (const parameter of operation?.parameters ?? []) {
        if ("name" in parameter && parameter.name === "holdSeconds" && parameter.schema && "type" in parameter.schema) {
          parameter.schema.maximum = Math.floor(maxHoldSeconds);
        }
      }
    }
  }
  return document;
}
