import { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_PATTERN } from "../pool/idempotency";
import { MAX_BULK_CREATE, MIN_HOLD_SECONDS } from "../pool/limits";
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

export const PoolName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "Pool name must be 1-64 characters of A-Z a-z 0-9 _ -")
  .openapi({ description: "Pool name; `/keys` is the pool `default`.", example: "payments" });

// Not validated as a UUID here: an id that is not a UUID names no key, so it answers 404 like any
// other unknown id (checked in the pool), not 400.
export const KeyId = z
  .string()
  .openapi({ description: "The key's id (a UUID).", format: "uuid", example: "7f1c2a9e-4b0d-4c59-9a3e-2f6d8b1e5c40" });

/** The `{id}` of a key's path. */
export const KeyParams = z.object({ id: KeyId });

export const Lease = z
  .number()
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER)
  .openapi({ description: "Fencing number of a block; grows with every block in the pool.", example: 42 });

const Timestamp = z.iso
  .datetime()
  .openapi({ description: "ISO-8601 UTC with milliseconds.", example: "2026-11-25T16:00:00.000Z" });
const Uuid = z.uuid().openapi({ example: "7f1c2a9e-4b0d-4c59-9a3e-2f6d8b1e5c40" });

export const KeyInfo = exactly<views.KeyInfo>()(
  z
    .object({
      isBlocked: z.boolean(),
      createdAt: Timestamp,
      expiresAt: Timestamp.openapi({
        description: "When the key is deleted unless kept alive: lastActivity + KEY_TTL.",
      }),
      lastActivity: Timestamp,
      blockedAt: Timestamp.nullable(),
      releaseAt: Timestamp.nullable().openapi({ description: "When the block ends by itself: blockedAt + BLOCK_TTL." }),
    })
    .openapi("KeyInfo"),
);

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
  KeyInfo.extend({
    lease: Lease.optional().openapi({ description: "Present when this call blocked or renewed the key." }),
    leaseToken: LeaseToken.optional().openapi({ description: "Present when this call started the block." }),
  }).openapi("KeyInfoWithLease"),
);

export const Created = z.object({ keyId: Uuid }).openapi("Created");
export const CreatedMany = z.object({ keyIds: z.array(Uuid) }).openapi("CreatedMany");

export const Assignment = exactly<views.Assignment>()(
  z
    .object({
      keyId: Uuid,
      key: Uuid.openapi({ description: "The key value: a secret." }),
      lease: Lease,
      releaseAt: Timestamp,
      leaseToken: LeaseToken,
    })
    .openapi("Assignment"),
);

export const KeyValue = exactly<views.KeyValue>()(z.object({ keyId: Uuid, key: Uuid }).openapi("KeyValue"));
export const Deleted = z.object({ keyId: Uuid, deleted: z.literal(true) }).openapi("Deleted");

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
      }),
  })
  .openapi("CreateKeys");

export const UpdateBody = z
  .strictObject({
    blocked: z
      .boolean()
      .openapi({ description: "false unblocks; true blocks (or, with the current lease, renews the block)." }),
    lease: Lease.optional().openapi({
      description: "When given, the call acts only if this is the key's current lease (else 409).",
    }),
  })
  .openapi("UpdateKey");

export const IDEMPOTENCY_HEADER = "Idempotency-Key";

/** The `KeyPool-Lease-Token` request header, on the calls a holder makes as the holder. */
export const LeaseTokenHeaders = z.object({
  [LEASE_TOKEN_HEADER]: LeaseToken.optional().openapi({
    description:
      "The leaseToken of the key's current block: proves the caller holds the key. A client acting as the " +
      "holder must send it (a lease alone proves nothing); an admin may act without it.",
  }),
});

/** The `Idempotency-Key` request header, on the calls that are done at most once per key. */
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
        "again; the same key with a different request answers 422. A random UUID per logical call is ideal.",
      example: "5b0d3f4e-8f8a-4b51-9d1c-6a7e2c3b9f10",
    }),
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
  });

export const ErrorBody = z
  .object({
    error: z.string().min(1).openapi({ example: "Key not found" }),
    details: z.unknown().optional().openapi({ description: "Which inputs were wrong, for validation errors." }),
  })
  .openapi("Error");
