import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig } from "@asteasolutions/zod-to-openapi";
import { dump } from "js-yaml";
import { BEARER_SCHEME, bearerScheme, documentedError, withAccess } from "./access-openapi";
import type { Endpoint } from "./route";

const INFO = {
  title: "KeyPool",
  version: "1.0.0",
  description:
    "A durable pool of API keys. Keys expire KEY_TTL_SECONDS after their last keep-alive; " +
    "a blocked key is released BLOCK_TTL_SECONDS after it was blocked. Every error is JSON " +
    '`{"error": string, "details"?: any}`. Every call needs a bearer token of the admin or client ' +
    "role; clients are rate-limited per token, callers without a valid token per address.",
};

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
 * The OpenAPI 3.1 document of the endpoints, generated from their own schemas the first time it is
 * asked for (not at start-up, and not again: it cannot change while the isolate lives).
 */
export class ApiDocument {
  #json: string | undefined;
  #yaml: string | undefined;

  constructor(private readonly endpoints: readonly Endpoint[]) {}

  json(): string {
    this.#json ??= JSON.stringify(this.generate());
    return this.#json;
  }

  yaml(): string {
    this.#yaml ??= dump(JSON.parse(this.json()));
    return this.#yaml;
  }

  private generate() {
    const registry = new OpenAPIRegistry();
    registry.registerComponent("securitySchemes", BEARER_SCHEME, bearerScheme);
    for (const endpoint of this.endpoints) registry.registerPath(operationOf(endpoint));
    return new OpenApiGeneratorV31(registry.definitions).generateDocument({ openapi: "3.1.0", info: INFO });
  }
}

function operationOf(endpoint: Endpoint) {
  const { request, success } = endpoint;
  const responses: Record<string, ResponseConfig> = {
    [success.status]: { description: success.description, content: { "application/json": { schema: success.schema } } },
  };
  // Every operation can answer 400 (a malformed request) and 500.
  for (const status of [400, ...endpoint.errors, 500]) {
    responses[status] = documentedError(ERROR_DESCRIPTIONS[status] ?? "Error");
  }
  const {
    description,
    security,
    responses: all,
  } = withAccess({ description: endpoint.description, responses }, endpoint.access);
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
    responses: all,
    security,
  };
}
