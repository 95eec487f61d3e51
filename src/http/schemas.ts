import { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_PATTERN } from "../pool/idempotency";
import {
  HINT_LENGTH,
  MAX_BULK_CREATE,
  MAX_COOLDOWN_SECONDS,
  MAX_LABEL_LENGTH,
  MAX_MAX_FAILURES,
  MAX_VALUE_BYTES,
  MAX_WAIT_SECONDS_LIMIT,
  MIN_HOLD_SECONDS,
  MIN_LENGTH_FOR_HINT,
} from "../pool/limits";
import { REPORT_OUTCOMES } from "../pool/rules";
import type * as views from "../pool/views";
import { LEASE_TOKEN_HEADER, LEASE_TOKEN_PATTERN } from "./holder";
import "./zod-openapi";
import * as z from "zod";

/**
 * The API's shapes, declared once: the endpoints validate requests with them (src/http/route.ts) and
 * `/openapi.json` is generated from them (src/http/openapi.ts). Each answer the pool computes is
 * declared with `exactly<T>()`, so the compiler refuses a schema that drifts from the pool's type.
 */

/** Each of two types is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Returns `schema`, and compiles only when what it parses is exactly T (the pool's own view type). */
export function exactly<T>() {
  return <S extends z.ZodType>(schema: S, ..._sameType: Same<z.output<S>, T> extends true ? [] : [never]): S => schema;
}

/**
 * A query parameter that is a number: decimal text becomes that number, any other text NaN (which
 * the schema refuses); null (an empty value) and arrays (a repeated one) reach the schema as they
 * are. The document shows `schema` itself.
 */
export function queryNumber<S extends z.ZodType>(schema: S) {
  return z.preprocess((value) => (typeof value === "string" ? decimal(value) : value), schema);
}

const DECIMAL_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function decimal(text: string): number {
  return DECIMAL_NUMBER.test(text.trim()) ? Number(text) : Number.NaN;
}

export const DEFAULT_POOL = "default";

/** A pool name's bounds, in one message: the server checks them with the pattern, the document states them too. */
const POOL_NAME_RULE = "Pool name must be 1-64 characters of A-Z a-z 0-9 _ -";
export const POOL_NAME_MAX_LENGTH = 64;

export const PoolName = z
  .string()
  .regex(new RegExp(`^[A-Za-z0-9_-]{1,${POOL_NAME_MAX_LENGTH}}$`), POOL_NAME_RULE)
  .openapi({
    description: "Pool name; `/keys` is the pool `default`.",
    example: "payments",
    minLength: 1,
    maxLength: POOL_NAME_MAX_LENGTH,
  });

/** Two different ids, so no example suggests that a key's id and its value are related. */
const KEY_ID_EXAMPLE = "7f1c2a9e-4b0d-4c59-9a3e-2f6d8b1e5c40";
const KEY_VALUE_EXAMPLE = "c3a81f07-5e2d-4b96-8d14-0a9be7f26c58";

/** A UUID's length: the longest id that can name a key. */
export const KEY_ID_LENGTH = 36;

// Only the length is validated here: an id of a UUID's length that is not a UUID names no key, so it
// answers 404 like any other unknown id (checked in the pool). A longer one is malformed input: 400.
export const KeyId = z
  .string()
  .max(KEY_ID_LENGTH, `A key id is a UUID: at most ${KEY_ID_LENGTH} characters`)
  .openapi({ description: "The key's id (a UUID).", format: "uuid", example: KEY_ID_EXAMPLE });

/** The `{id}` of a key's path. */
export const KeyParams = z.object({ id: KeyId });

export const Lease = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).openapi({
  description: "Fencing number of a block; grows with every block in the pool.",
  format: "int64",
  example: 42,
});

/** `2026-11-25T16:00:00.000Z`: always 24 characters. */
const TIMESTAMP_LENGTH = 24;

export const Timestamp = z.iso.datetime().openapi({
  description: "ISO-8601 UTC with milliseconds.",
  example: "2026-11-25T16:00:00.000Z",
  maxLength: TIMESTAMP_LENGTH,
});
export const Uuid = z.uuid().openapi({ example: KEY_ID_EXAMPLE, maxLength: KEY_ID_LENGTH });

/**
 * The fields of a key's info. Answers that add to them spread these fields into an object of their
 * own instead of extending the KeyInfo schema, so the document shows each as a plain object with its
 * fields (an extension is an `allOf` that Swagger UI renders as "(any & object)").
 */
const LABEL_PATTERN = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$";

/** Whether a value's UTF-8 fits MAX_VALUE_BYTES; a short one surely does (3 bytes at most per UTF-16 unit). */
function fitsInValueBytes(value: string): boolean {
  return value.length * 3 <= MAX_VALUE_BYTES || new TextEncoder().encode(value).byteLength <= MAX_VALUE_BYTES;
}

/** A key's value: any characters but NUL, which no credential holds. */
const VALUE_PATTERN = "^[^\\u0000]+$";

export const Label = z
  .string()
  .min(1)
  .max(MAX_LABEL_LENGTH)
  .regex(new RegExp(LABEL_PATTERN), "must have no control characters")
  .openapi({
    description: `For people: 1-${MAX_LABEL_LENGTH} characters (UTF-16 code units, as JSON Schema counts), no control characters. Shown wherever the key's state is.`,
    example: "openai-prod-3",
  });

const keyInfoFields = {
  isBlocked: z.boolean(),
  createdAt: Timestamp,
  expiresAt: Timestamp.nullable().openapi({
    description:
      "When the key is deleted unless kept alive: lastActivity + KEY_TTL. Null in a pool whose keys do not " +
      "expire (keysExpire: false).",
  }),
  lastActivity: Timestamp,
  blockedAt: Timestamp.nullable(),
  releaseAt: Timestamp.nullable().openapi({ description: "When the block ends by itself: blockedAt + BLOCK_TTL." }),
  source: z.enum(["generated", "imported"]).openapi({
    description: "generated: a UUID the pool made. imported: a value an admin brought, shown only to its holder.",
  }),
  label: Label.nullable(),
  hint: z
    .string()
    // Characters, each up to two UTF-16 code units (the length JSON Schema counts).
    .max(2 * HINT_LENGTH)
    .regex(new RegExp(VALUE_PATTERN))
    .nullable()
    .openapi({
      description:
        `The last ${HINT_LENGTH} characters of an imported value, to tell keys apart; null for a generated key ` +
        `and for a value shorter than ${MIN_LENGTH_FOR_HINT} characters.`,
      example: "x9Qa",
    }),
  state: z.enum(["free", "blocked", "cooling", "disabled"]).openapi({
    description:
      "free: handed out by the next assignment. blocked: held by a holder (isBlocked). cooling: not handed out " +
      "before coolingUntil (a 429 reported, failures, a lock-delay). disabled: never handed out until an admin " +
      "enables it (an unauthorized report, or an admin).",
  }),
  coolingUntil: Timestamp.nullable().openapi({ description: "When its cooldown ends, while it is cooling." }),
  failures: z.number().int().min(0).max(MAX_MAX_FAILURES).openapi({
    description: "Consecutive error reports since its last ok report (or the cooldown they started).",
    format: "int32",
  }),
  lastOutcome: z.enum(REPORT_OUTCOMES).nullable().openapi({ description: "The outcome of its last report." }),
  lastReportAt: Timestamp.nullable(),
};

export const KeyInfo = exactly<views.KeyInfo>()(z.object(keyInfoFields).openapi("KeyInfo"));

export const LeaseToken = z
  .string()
  .length(43)
  .regex(LEASE_TOKEN_PATTERN, "must be a leaseToken as answered (43 base64url characters)")
  .openapi({
    description:
      "The block's holder secret: 256 random bits, answered once with the block (and again only to the same " +
      "caller's idempotent retry). Send it back in the KeyPool-Lease-Token header, never in a URL, to act as the " +
      "holder; the pool keeps only its SHA-256.",
    example: "q3X9cV0bT7mKpL2wZ8rN4yH6sJ1dF5gA0eU7iO3kQ2c",
  });

export const BlockResult = exactly<views.BlockResult>()(
  z
    .object({
      ...keyInfoFields,
      lease: Lease.optional().openapi({ description: "Present when this call blocked or renewed the key." }),
      leaseToken: LeaseToken.optional().openapi({ description: "Present when this call started the block." }),
    })
    .openapi("KeyInfoWithLease"),
);

/** A listed key: its info and its id, never its value. */
export const ListedKey = exactly<views.ListedKey>()(z.object({ keyId: Uuid, ...keyInfoFields }).openapi("ListedKey"));

export const Created = z.object({ keyId: Uuid }).openapi("Created");
export const CreatedMany = z.object({ keyIds: z.array(Uuid).min(1).max(MAX_BULK_CREATE) }).openapi("CreatedMany");

/** A key's value as answered: a generated key's is a UUID, an imported key's what was imported. */
const KeyValueText = z.string().min(1).max(MAX_VALUE_BYTES).regex(new RegExp(VALUE_PATTERN)).openapi({
  description: "The key value: a secret. A generated key's is a UUID; an imported key's is the value imported.",
  example: KEY_VALUE_EXAMPLE,
});

export const Assignment = exactly<views.Assignment>()(
  z
    .object({
      keyId: Uuid,
      key: KeyValueText,
      lease: Lease,
      releaseAt: Timestamp,
      leaseToken: LeaseToken,
    })
    .openapi("Assignment"),
);

export const KeyValue = exactly<views.KeyValue>()(z.object({ keyId: Uuid, key: KeyValueText }).openapi("KeyValue"));
export const Deleted = z.object({ keyId: Uuid, deleted: z.literal(true) }).openapi("Deleted");

/** Most bytes of a `POST /keys` body: 1,000 typical provider keys with labels fit; other routes take 64 KiB. */
export const MAX_CREATE_BODY_BYTES = 1024 * 1024;

const ImportedValue = z
  .string()
  .min(1)
  .max(MAX_VALUE_BYTES)
  .regex(new RegExp(VALUE_PATTERN), "must not contain NUL characters")
  .refine(fitsInValueBytes, { message: `must be at most ${MAX_VALUE_BYTES} bytes of UTF-8` })
  .openapi({
    description:
      `The secret value, as the upstream issued it: 1 to ${MAX_VALUE_BYTES} bytes of UTF-8, any characters but NUL ` +
      "(newlines allowed). Stored encrypted; shown again only to the holder of the key's block.",
    example: "sk-live-4f9a0c2e7b1d8e3f6a5c9b2d0e7f1a3c",
  });

export const ImportEntry = z.strictObject({ key: ImportedValue, label: Label.optional() }).openapi("ImportedKey");

export const CreateBody = z
  .strictObject({
    count: z
      .number()
      .int()
      .min(1)
      .max(MAX_BULK_CREATE)
      .optional()
      .openapi({
        description: `Create this many keys in one transaction (1-${MAX_BULK_CREATE}); the answer is then {"keyIds": [...]}.`,
        format: "int32",
      }),
    label: Label.optional().openapi({ description: "A label for every key created (not with `keys`)." }),
    keys: z
      .array(ImportEntry)
      .min(1)
      .max(MAX_BULK_CREATE)
      .optional()
      .openapi({
        description:
          `Import these values (1-${MAX_BULK_CREATE}) in one transaction instead of generating keys; the answer is ` +
          '{"keyIds": [...]} in the order given. Needs KEY_ENCRYPTION_KEY (503 without). A value already in the ' +
          `pool, or twice in the list, is 409 and nothing is imported. The whole body is at most ${MAX_CREATE_BODY_BYTES} bytes.`,
      }),
  })
  .refine((body) => body.keys === undefined || (body.count === undefined && body.label === undefined), {
    message: "keys is given alone: each imported key has its own label, and the list says how many",
    path: ["keys"],
  })
  // The refinement above, stated in the document.
  .openapi("CreateKeys", {
    not: { anyOf: [{ required: ["keys", "count"] }, { required: ["keys", "label"] }] },
    // What "Try it out" sends unless edited: a body the server takes (a sample of every field would not).
    example: { count: 1 },
  });

export const UpdateBody = z
  .strictObject({
    blocked: z
      .boolean()
      .optional()
      .openapi({ description: "false unblocks; true blocks (or, with the current lease, renews the block)." }),
    lease: Lease.optional().openapi({
      description: "When given, the call acts only if this is the key's current lease (else 409).",
    }),
    label: Label.nullable()
      .optional()
      .openapi({ description: "Admins only: sets the key's label (null removes it). Given alone, without blocked." }),
    disabled: z
      .boolean()
      .optional()
      .openapi({
        description:
          "Admins only, given alone: true disables the key (its block ends; it is never handed out until enabled), " +
          "false enables it again (its failures forgotten).",
      }),
  })
  .refine((body) => [body.blocked, body.label, body.disabled].filter((field) => field !== undefined).length === 1, {
    message: "give one of blocked (with an optional lease), label, disabled",
  })
  .refine((body) => body.lease === undefined || body.blocked !== undefined, {
    message: "lease goes with blocked",
    path: ["lease"],
  })
  // The refinements above, stated in the document.
  .openapi("UpdateKey", {
    example: { blocked: true },
    oneOf: [
      { required: ["blocked"], not: { anyOf: [{ required: ["label"] }, { required: ["disabled"] }] } },
      {
        required: ["label"],
        not: { anyOf: [{ required: ["blocked"] }, { required: ["lease"] }, { required: ["disabled"] }] },
      },
      {
        required: ["disabled"],
        not: { anyOf: [{ required: ["blocked"] }, { required: ["lease"] }, { required: ["label"] }] },
      },
    ],
  });

export const ReportBody = z
  .strictObject({
    outcome: z.enum(REPORT_OUTCOMES).openapi({
      description:
        "What the upstream answered. rate_limited (a 429): the block ends and the key cools down. unauthorized " +
        "(401/403, revoked): the block ends and the key is disabled until an admin enables it. error (a 5xx): a " +
        "failure counted; at the pool's maxFailures the key cools down. ok: the failures are forgotten.",
    }),
    retryAfterSeconds: z
      .number()
      .min(0)
      .max(MAX_COOLDOWN_SECONDS)
      .optional()
      .openapi({
        description:
          "The upstream's own wait (its Retry-After), 0 to a day, fractions allowed: the cooldown lasts this " +
          "long from now instead of the pool's cooldownSeconds. A cooldown is only ever extended, never shortened.",
        example: 20,
      }),
    release: z.boolean().optional().openapi({
      description: "With ok (or an error that starts no cooldown): release the key, as an unblock does.",
    }),
  })
  .openapi("Report", { example: { outcome: "rate_limited", retryAfterSeconds: 20 } });

export const IDEMPOTENCY_HEADER = "Idempotency-Key";

/** The `KeyPool-Lease-Token` request header, on the calls a holder makes as the holder. */
export const LeaseTokenHeaders = z.object({
  [LEASE_TOKEN_HEADER]: LeaseToken.optional().openapi({
    description:
      "The leaseToken of the key's current block: proves the caller holds the key. A client acting as the " +
      "holder must send it (a lease alone proves nothing); an admin may act without it.",
  }),
});

/**
 * The `Idempotency-Key` request header, on the calls that are done at most once per key. It has no
 * example: a value shown in the docs would be pre-filled by Swagger UI's "Try it out", and every
 * second call with it would answer 422 (the same key, another request) or replay the first.
 */
export const IdempotencyHeaders = z.object({
  [IDEMPOTENCY_HEADER]: z
    .string()
    .regex(
      IDEMPOTENCY_KEY_PATTERN,
      `Idempotency-Key must be 1-${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters (no spaces)`,
    )
    .optional()
    .openapi({
      description:
        "Makes the call safe to retry: a repeat with the same key and the same request (method, path, query, " +
        "body) in the same pool within 24 hours answers the first call's status and body without doing it " +
        "again; the same key with a different request answers 422. Use a new random UUID for each logical " +
        "call (leave it empty to try a call out).",
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
    }),
});

export const WaitSeconds = z
  .number()
  .min(0)
  .max(MAX_WAIT_SECONDS_LIMIT)
  .openapi({
    description:
      "When no key is free, wait up to this many seconds for one (0 to MAX_WAIT_SECONDS: default 30, at most 300; fractions " +
      "allowed), first come first served: the first key to come free goes to the caller waiting longest. After " +
      "it, 404 with Retry-After. With an Idempotency-Key, a retry gets the key this call was given.",
    example: 10,
  });

export const HoldSeconds = z
  .number()
  .int()
  .min(MIN_HOLD_SECONDS)
  .openapi({
    description:
      "Block the key for this many seconds instead of BLOCK_TTL_SECONDS: a whole number from 1 to " +
      "MAX_HOLD_SECONDS (default 3600). Renewals by the holder restart the block with the same hold.",
    example: 600,
    format: "int32",
  });

/** The longest error message: messages quote at most a short piece of the input, and are cut here. */
export const MAX_ERROR_LENGTH = 1000;

/** Where an input was wrong and why: one shape for every error that has details. */
export const Problem = z
  .object({
    path: z.string().max(MAX_ERROR_LENGTH).openapi({
      description: "Which input: `body.count`, `query.lease`, `params.pool`, `headers.content-type`.",
      pattern: "^(params|query|headers|body)(\\..*)?$",
    }),
    message: z.string().max(MAX_ERROR_LENGTH),
    keyId: Uuid.optional().openapi({ description: "The key the problem is about: the key already holding a value." }),
  })
  .openapi("Problem");

export const ErrorBody = z
  .object({
    error: z.string().min(1).max(MAX_ERROR_LENGTH),
    details: z
      .array(Problem)
      .max(100)
      .optional()
      .openapi({ description: "Which inputs were wrong, one entry each, for validation errors." }),
    retryAfterSeconds: z.number().int().min(0).max(31_536_000).optional().openapi({
      description: "When no key was free: whole seconds until one may be, as Retry-After says, when the pool knows.",
      format: "int32",
    }),
  })
  .openapi("Error");
