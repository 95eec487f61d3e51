import type { ResponseConfig } from "@asteasolutions/zod-to-openapi";
import type { Config } from "../config";
import type { Refusal, Refused } from "../outcome";
import { type Access, ADMIN_ONLY } from "./access";
import { forbidden, notConfigured, unauthorized } from "./auth";
import { MAX_BODY_BYTES, tooLarge, unsupportedType } from "./body";
import {
  errorBody,
  type HttpError,
  internalError,
  invalidRequest,
  poolRestarted,
  REFUSALS,
  refusalError,
} from "./errors";
import { type HeaderName, headersOf } from "./openapi-headers";
import { policyOf, tooManyRequests } from "./rate-limit";
import { UNKNOWN_PARAMETER } from "./route";
import { MAX_CREATE_BODY_BYTES, PoolName } from "./schemas";

/**
 * The error answers of the document. Every example is the body the Worker really sends, made by the
 * same function that makes the error, so no example can say something the server does not. Examples
 * and the answers every operation shares are components, referenced from each operation.
 */

type Example = { summary: string; value: unknown };
type Ref = { $ref: string };

const ERROR_SCHEMA: Ref = { $ref: "#/components/schemas/Error" };

function example(summary: string, error: HttpError): Example {
  return { summary, value: errorBody(error) };
}

/** The example key id of a refusal's details, and the fingerprint of one that names an encryption key. */
const EXAMPLE_KEY_ID = "0b6e3c1d-8f2a-4d7e-b5c9-1a2f3e4d5c6b";
const EXAMPLE_FINGERPRINT = "4e1f09c2";

/** What each refusal looks like in an example, when it carries more than its message. */
const REFUSAL_EXTRAS: Partial<Record<Refusal, Omit<Refused, "ok" | "refusal">>> = {
  duplicate_values: {
    details: [
      { path: "body.keys.3.key", message: "This value is in the pool already", keyId: EXAMPLE_KEY_ID },
      { path: "body.keys.7.key", message: "The same value as body.keys.2.key" },
    ],
  },
  value_key_missing: { about: EXAMPLE_FINGERPRINT },
  // A pool whose one key is held for the default block time.
  none_free: { retryAfterSeconds: 60 },
  too_many_waiters: { retryAfterSeconds: 12 },
};

/** What each refusal means to a caller: its example's summary, and its answer's description. */
const REFUSAL_EXAMPLES: Record<Refusal, { name: string; cause: string }> = {
  not_found: { name: "KeyNotFound", cause: "No such key: never created, expired, or deleted" },
  blocked: { name: "KeyBlocked", cause: "The key is blocked: its value is not handed out while it is" },
  lease_conflict: {
    name: "NotTheHolder",
    cause:
      "Not the holder: the KeyPool-Lease-Token or the lease is not the key's current block's (it was released, " +
      "or taken again since), or a client gave a lease without the token",
  },
  not_holder: {
    name: "HolderSecretNeeded",
    cause: "A client without the key's KeyPool-Lease-Token: only an admin may do this without it",
  },
  holder_only: {
    name: "ValuesForHoldersOnly",
    cause: "The pool shows a key's value only to its holder (revealValues: holder), and this caller is not",
  },
  held: { name: "KeyHeld", cause: "The key is already blocked, and the caller is not its holder" },
  key_disabled: { name: "KeyDisabled", cause: "The key is disabled: an admin enables it before it can be blocked" },
  too_many_waiters: {
    name: "TooManyWaiting",
    cause:
      "As many callers as the pool keeps (MAX_WAITERS) already wait for a key; Retry-After says when one may be free",
  },
  no_such_pool: {
    name: "NoSuchPool",
    cause: "No such pool: an admin makes one by creating keys or setting its settings",
  },
  replay_gone: {
    name: "ReplayGone",
    cause: "A retry with the Idempotency-Key of an assignment whose block has ended: it is not handed out again",
  },
  none_free: {
    name: "NoFreeKey",
    cause:
      "No free key (every key blocked, cooling or disabled, or the pool empty), or none came free within " +
      "waitSeconds; Retry-After and retryAfterSeconds say when one may, when the pool knows",
  },
  idempotency_mismatch: {
    name: "IdempotencyKeyReused",
    cause: "The Idempotency-Key was already used for a different request in this pool (within 24 hours)",
  },
  imported_value: {
    name: "ImportedValueForHolderOnly",
    cause: "An imported key's value, asked for without the KeyPool-Lease-Token of its block (admins included)",
  },
  duplicate_values: {
    name: "DuplicateValues",
    cause: "Values in the pool already, or twice in the request: details name each (and the key holding it)",
  },
  no_encryption_key: {
    name: "NoEncryptionKey",
    cause: "Importing needs KEY_ENCRYPTION_KEY, and the Worker has none",
  },
  value_key_missing: {
    name: "EncryptionKeyMissing",
    cause: "The value is sealed under an encryption key no longer configured; nothing was deleted",
  },
  value_unreadable: {
    name: "ValueUnreadable",
    cause: "The stored value fails its integrity check (it was moved or altered in the database)",
  },
};

/** The refusals that may say when a key may be free (`Retry-After`, `retryAfterSeconds`). */
const RETRY_AFTER = new Set<Refusal>(["none_free", "too_many_waiters"]);

/** The forbidden answer of an access that needs an admin token without a lease, by example name. */
const FORBIDDEN: Record<Exclude<Access, "client">, string> = {
  admin: "AdminOnly",
  "client-holder": "AdminOnlyWithoutHolderSecret",
};

/** Every example, by component name. The 429's says the configured window. */
function examples(config: Config): Record<string, Example> {
  const badPool = PoolName.safeParse("a.b").error?.issues[0]?.message ?? "invalid";
  const all: Record<string, Example> = {
    UnknownParameter: example(
      "An unknown query parameter (a misspelt one is never ignored)",
      invalidRequest([{ path: "query.leese", message: UNKNOWN_PARAMETER }]),
    ),
    BadPoolName: example(
      "A pool name with a character outside A-Z a-z 0-9 _ -",
      invalidRequest([{ path: "params.pool", message: badPool }]),
    ),
    MalformedJson: example("A body that is not JSON", invalidRequest([{ path: "body", message: "not valid JSON" }])),
    TooLarge: example("A body over 64 KiB", tooLarge()),
    TooLargeImport: example("A POST /keys body over 1 MiB", tooLarge(MAX_CREATE_BODY_BYTES)),
    NotJson: example("A form body", unsupportedType("application/x-www-form-urlencoded")),
    Internal: example("Something failed inside; nothing about it is shown", internalError()),
    MissingToken: example("No Authorization header", unauthorized("missing")),
    MalformedToken: example("An Authorization header that is not `Bearer <token>`", unauthorized("malformed")),
    InvalidToken: example("A token the server does not know", unauthorized("invalid")),
    TooManyRequests: example("A client token over its quota", tooManyRequests(policyOf("client", config))),
    NotConfigured: example("A Worker deployed without a token", notConfigured(false)),
    PoolRestarted: example("The pool's object restarted during the call (a deploy): retry it", poolRestarted()),
  };
  for (const [refusal, { name, cause }] of Object.entries(REFUSAL_EXAMPLES)) {
    const extra = REFUSAL_EXTRAS[refusal as Refusal] ?? {};
    all[name] = example(cause, refusalError({ ok: false, refusal: refusal as Refusal, ...extra }));
  }
  for (const [access, name] of Object.entries(FORBIDDEN)) {
    const what = ADMIN_ONLY[access as keyof typeof FORBIDDEN];
    all[name] = example(`A client token: ${what} needs an admin token`, forbidden(what));
  }
  return all;
}

/** An error answer: the one error body, the examples named, and the headers that come with it. */
function errorAnswer(description: string, exampleNames: string[], headers: HeaderName[] = []) {
  return {
    description,
    headers: headersOf(...headers),
    content: {
      "application/json": {
        schema: ERROR_SCHEMA,
        examples: Object.fromEntries(exampleNames.map((name) => [name, { $ref: `#/components/examples/${name}` }])),
      },
    },
  };
}

/** An answer that may say when to try again (`Retry-After-Later`). */
function retryLater<A extends { headers: Record<string, Ref> }>(answer: A): A {
  answer.headers["Retry-After"] = { $ref: "#/components/headers/Retry-After-Later" };
  return answer;
}

/** The answers many operations share, by component name and status. */
const SHARED = {
  Unauthorized: [
    401,
    errorAnswer(
      "Missing, malformed or unknown bearer token",
      ["MissingToken", "MalformedToken", "InvalidToken"],
      ["WWW-Authenticate"],
    ),
  ],
  TooManyRequests: [
    429,
    errorAnswer(
      "Too many requests from this client token (or, without a valid token, this address)",
      ["TooManyRequests"],
      ["Retry-After", "RateLimit"],
    ),
  ],
  NotConfigured: [
    503,
    retryLater(
      errorAnswer(
        "No access token is configured on the server yet (set the ADMIN_TOKEN secret); or the pool restarted " +
          "during the call (Retry-After: 1; retry it, with the same Idempotency-Key)",
        ["NotConfigured", "PoolRestarted"],
      ),
    ),
  ],
  InternalError: [
    500,
    errorAnswer("Internal error (e.g. a misconfigured variable); never caused by client input", ["Internal"]),
  ],
  TooLarge: [413, errorAnswer("The body is larger than 64 KiB", ["TooLarge"])],
  TooLargeImport: [413, errorAnswer("The body is larger than 1 MiB", ["TooLargeImport"])],
  UnsupportedMediaType: [415, errorAnswer("The body is not JSON (its Content-Type)", ["NotJson"])],
} as const;

type SharedName = keyof typeof SHARED;

function shared(name: SharedName): Record<string, Ref> {
  return { [SHARED[name][0]]: { $ref: `#/components/responses/${name}` } };
}

/** The components the error answers refer to: `examples` and `responses`. */
export function errorComponents(config: Config) {
  const responses = Object.fromEntries(Object.entries(SHARED).map(([name, [, answer]]) => [name, answer]));
  return { examples: examples(config), responses };
}

/** Every error answer of an operation, access control's included. */
export function operationErrors(operation: {
  hasPool: boolean;
  /** The largest body the operation reads, or undefined when it takes none. */
  maxBodyBytes: number | undefined;
  refusals: readonly Refusal[];
  access: Access;
}): Record<string, ResponseConfig | Ref> {
  const hasBody = operation.maxBodyBytes !== undefined;
  const invalid = ["UnknownParameter"];
  if (operation.hasPool) invalid.push("BadPoolName");
  if (hasBody) invalid.push("MalformedJson");
  const responses: Record<string, ResponseConfig | Ref> = {
    400: errorAnswer(
      "Invalid input: malformed JSON, a wrong type or value, an unknown parameter or a bad name",
      invalid,
    ),
    ...shared("Unauthorized"),
  };
  const byStatus = new Map<number, string[]>();
  const causes = new Map<number, string[]>();
  // A refusal with the status of an answer every operation has joins that answer.
  const statuses = new Set(operation.refusals.map((refusal) => REFUSALS[refusal].status));
  for (const name of ["InternalError", "NotConfigured", "TooManyRequests"] as const) {
    const [status, answer] = SHARED[name];
    if (!statuses.has(status)) continue;
    byStatus.set(status, Object.keys(answer.content["application/json"].examples));
    causes.set(status, [answer.description]);
  }
  for (const refusal of operation.refusals) {
    const { status } = REFUSALS[refusal];
    byStatus.set(status, [...(byStatus.get(status) ?? []), REFUSAL_EXAMPLES[refusal].name]);
    causes.set(status, [...(causes.get(status) ?? []), REFUSAL_EXAMPLES[refusal].cause]);
  }
  if (operation.access !== "client") {
    const what = ADMIN_ONLY[operation.access];
    byStatus.set(403, [...(byStatus.get(403) ?? []), FORBIDDEN[operation.access]]);
    causes.set(403, [...(causes.get(403) ?? []), `A client token: ${what} needs an admin token`]);
  }
  for (const [status, names] of [...byStatus].sort(([a], [b]) => a - b)) {
    const answer = errorAnswer((causes.get(status) ?? []).join("; or: "), names);
    const merged = Object.values(SHARED).find(([shared]) => shared === status && statuses.has(shared));
    if (merged !== undefined) Object.assign(answer.headers, merged[1].headers);
    if (operation.refusals.some((refusal) => RETRY_AFTER.has(refusal) && REFUSALS[refusal].status === status)) {
      // A rate-limited 429 has its own Retry-After; a refusal for want of a key says when one may be free.
      if (!("Retry-After" in answer.headers)) retryLater(answer);
    }
    if (status === 403 && operation.access !== "client") {
      // Only the insufficient-scope answer carries a challenge, so it is not required on every 403.
      Object.assign(answer.headers, { "WWW-Authenticate": { $ref: "#/components/headers/WWW-Authenticate-Scope" } });
    }
    responses[status] = answer;
  }
  if (hasBody) {
    const large = operation.maxBodyBytes === MAX_CREATE_BODY_BYTES ? "TooLargeImport" : "TooLarge";
    if (operation.maxBodyBytes !== MAX_CREATE_BODY_BYTES && operation.maxBodyBytes !== MAX_BODY_BYTES) {
      throw new Error(`no 413 answer describes a body limit of ${operation.maxBodyBytes} bytes`);
    }
    Object.assign(responses, shared(large), shared("UnsupportedMediaType"));
  }
  const common = { ...shared("TooManyRequests"), ...shared("InternalError"), ...shared("NotConfigured") };
  for (const status of statuses) delete common[status];
  return { ...common, ...responses };
}
