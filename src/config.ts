/**
 * KeyPool's configuration: the [vars] and secrets of `env`, parsed and checked once per env object
 * and cached, for the Worker and the objects alike. A bad value fails with a ConfigError that names
 * the variable (and, for a token, its position, never the token).
 */
import { actorKeyOf } from "./crypto/actor-key";
import { KEY_BYTES, type KeyMaterial, localDevKey, type ValueKeys, valueKeysOf } from "./crypto/value-keys";
import { MAX_TTL_SECONDS, MAX_WAIT_SECONDS_LIMIT, MIN_TTL_SECONDS, ttlMs } from "./pool/limits";
import type { PoolTimings } from "./pool/rules";

export type Role = "admin" | "client";

/** An accepted bearer token: only its SHA-256, with the role it grants. */
export interface AccessToken {
  readonly digest: Uint8Array;
  readonly role: Role;
}

export interface Config {
  /** KEY_TTL_SECONDS and BLOCK_TTL_SECONDS: every pool's timings unless the pool overrides them. */
  readonly timings: PoolTimings;
  /** MAX_HOLD_SECONDS: the longest hold an assignment may ask for, in milliseconds. */
  readonly maxHoldMs: number;
  /** MAX_WAIT_SECONDS: the longest an assignment may wait for a key (`waitSeconds`), in milliseconds. */
  readonly maxWaitMs: number;
  /** MAX_WAITERS: the most callers a pool keeps waiting for a key at once. */
  readonly maxWaiters: number;
  /** RATE_LIMIT_PERIOD_SECONDS: the rate limiter's period; a 429 asks the client to wait this long. */
  readonly rateLimitPeriodSeconds: number;
  /** RATE_LIMIT_REQUESTS: the rate limiter's limit per period, announced in `RateLimit-Policy`. */
  readonly rateLimitRequests: number;
  /** How many tokens ADMIN_TOKEN and CLIENT_TOKEN hold together. */
  readonly tokenCount: number;
  /** Their digests, worked out once (WebCrypto is asynchronous); the tokens themselves are not kept. */
  readonly tokens: Promise<readonly AccessToken[]>;
  /**
   * No token is configured and the local development scripts set LOCAL_DEV_NO_AUTH=true: requests to
   * a loopback host are then served as admin. A deployed Worker never has a loopback host name.
   */
  readonly localDevOpen: boolean;
  /**
   * KEY_ENCRYPTION_KEY, worked out once: the key values are sealed under (the first) and every key they
   * may be opened with. Under the local development scripts the published development key is added
   * last, and seals when no key is configured (crypto/value-keys.ts).
   */
  readonly valueKeys: Promise<ValueKeys>;
  /** The key the audit trail's token fingerprints are made under (src/crypto/actor-key.ts). */
  readonly actorKey: Promise<CryptoKey>;
}

/** The vars and secrets KeyPool reads; every other member of `env` is a binding. */
export interface ConfigVars {
  readonly KEY_TTL_SECONDS?: string | undefined;
  readonly BLOCK_TTL_SECONDS?: string | undefined;
  readonly MAX_HOLD_SECONDS?: string | undefined;
  readonly MAX_WAIT_SECONDS?: string | undefined;
  readonly MAX_WAITERS?: string | undefined;
  readonly RATE_LIMIT_PERIOD_SECONDS?: string | undefined;
  readonly RATE_LIMIT_REQUESTS?: string | undefined;
  readonly ADMIN_TOKEN?: string | undefined;
  readonly CLIENT_TOKEN?: string | undefined;
  readonly LOCAL_DEV_NO_AUTH?: string | undefined;
  readonly KEY_ENCRYPTION_KEY?: string | undefined;
}

/**
 * Used when a var is missing or empty. They are wrangler.toml's values, restated because they are
 * also the contract's (a key lives 5 minutes without keep-alive, a block lasts 60 seconds): a Worker
 * deployed with a config that lost its [vars] still keeps it. The rate limit period and requests are
 * the `[[ratelimits]]` binding's.
 */
export const DEFAULTS = {
  KEY_TTL_SECONDS: 300,
  BLOCK_TTL_SECONDS: 60,
  MAX_HOLD_SECONDS: 3600,
  MAX_WAIT_SECONDS: 30,
  MAX_WAITERS: 1000,
  RATE_LIMIT_PERIOD_SECONDS: 60,
  RATE_LIMIT_REQUESTS: 300,
} as const;

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** RFC 6750 `b64token` characters, so any token can be sent in an `Authorization: Bearer` header. */
const TOKEN_SYNTAX = /^[A-Za-z0-9\-._~+/]+=*$/;
export const MIN_TOKEN_LENGTH = 16;
export const MAX_TOKEN_LENGTH = 512;

const cache = new WeakMap<object, Config>();

/** The configuration of `env`, parsed the first time it is asked for; throws ConfigError. */
export function configOf(env: object): Config {
  let config = cache.get(env);
  if (config === undefined) {
    config = parseConfig(env as ConfigVars);
    cache.set(env, config);
  }
  return config;
}

export function parseConfig(vars: ConfigVars): Config {
  const admin = tokenList(vars, "ADMIN_TOKEN");
  const client = tokenList(vars, "CLIENT_TOKEN");
  const adminSet = new Set(admin);
  if (client.some((token) => adminSet.has(token))) {
    throw new ConfigError("a token may not be in both ADMIN_TOKEN and CLIENT_TOKEN");
  }
  const tokenCount = admin.length + client.length;
  const localDev = vars.LOCAL_DEV_NO_AUTH?.trim() === "true";
  const encryptionKeys = encryptionKeyList(vars.KEY_ENCRYPTION_KEY);
  const tokens = Promise.all([
    ...admin.map(async (token) => ({ digest: await sha256(token), role: "admin" as const })),
    ...client.map(async (token) => ({ digest: await sha256(token), role: "client" as const })),
  ]);
  return {
    timings: {
      keyTtlMs: milliseconds(vars, "KEY_TTL_SECONDS"),
      blockTtlMs: milliseconds(vars, "BLOCK_TTL_SECONDS"),
    },
    maxHoldMs: milliseconds(vars, "MAX_HOLD_SECONDS"),
    maxWaitMs: wholeNumber(vars, "MAX_WAIT_SECONDS", 0, MAX_WAIT_SECONDS_LIMIT) * 1000,
    maxWaiters: wholeNumber(vars, "MAX_WAITERS", 0, 100_000),
    rateLimitPeriodSeconds: ratePeriod(vars.RATE_LIMIT_PERIOD_SECONDS),
    rateLimitRequests: rateRequests(vars.RATE_LIMIT_REQUESTS),
    tokenCount,
    tokens,
    actorKey: (async () => {
      const [sealing] = encryptionKeys;
      if (sealing !== undefined) return actorKeyOf(sealing);
      const digests = (await tokens).map((token) => token.digest);
      // No token either (the local mode): every call is the one local caller, under the development key.
      if (digests.length === 0) return actorKeyOf((await localDevKey()).bytes);
      return actorKeyOf(concat(digests.sort(compareBytes)));
    })(),
    localDevOpen: tokenCount === 0 && localDev,
    valueKeys: (async () => {
      const materials = encryptionKeys.map((bytes): KeyMaterial => ({ bytes, local: false }));
      return valueKeysOf(localDev ? [...materials, await localDevKey()] : materials);
    })(),
  };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** A number of seconds in the TTL range, as whole milliseconds. */
function milliseconds(vars: ConfigVars, name: "KEY_TTL_SECONDS" | "BLOCK_TTL_SECONDS" | "MAX_HOLD_SECONDS"): number {
  const raw = vars[name];
  if (raw === undefined || raw.trim() === "") return DEFAULTS[name] * 1000;
  const ms = ttlMs(Number(raw));
  if (ms === null) {
    throw new ConfigError(
      `${name} must be a positive number of seconds from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}, got "${raw}"`,
    );
  }
  return ms;
}

/** A whole number from `min` to `max` (a wait in seconds, a count of callers). */
function wholeNumber(vars: ConfigVars, name: "MAX_WAIT_SECONDS" | "MAX_WAITERS", min: number, max: number): number {
  const raw = vars[name];
  if (raw === undefined || raw.trim() === "") return DEFAULTS[name];
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** A comma-separated list, so a new token can be added before the old one is removed. */
function tokenList(vars: ConfigVars, name: "ADMIN_TOKEN" | "CLIENT_TOKEN"): string[] {
  const tokens = (vars[name] ?? "")
    .split(",")
    .map((token) => token.trim())
    .filter((token) => token !== "");
  tokens.forEach((token, index) => {
    const which = `${name} token ${index + 1} of ${tokens.length}`;
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
      throw new ConfigError(`${which} must be ${MIN_TOKEN_LENGTH}-${MAX_TOKEN_LENGTH} characters long`);
    }
    if (!TOKEN_SYNTAX.test(token)) {
      throw new ConfigError(`${which} may only use the characters A-Z a-z 0-9 - . _ ~ + / (and trailing =)`);
    }
  });
  return tokens;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * KEY_ENCRYPTION_KEY: a comma-separated list of 32-byte keys in base64 (`openssl rand -base64 32`),
 * the first sealing. A bad entry is named by its position, never shown; the same key twice is refused.
 */
function encryptionKeyList(raw: string | undefined): Uint8Array[] {
  const texts = (raw ?? "")
    .split(",")
    .map((text) => text.trim())
    .filter((text) => text !== "");
  const keys = texts.map((text, index) => {
    const which = `KEY_ENCRYPTION_KEY key ${index + 1} of ${texts.length}`;
    const bytes = BASE64.test(text) ? Uint8Array.from(atob(text), (char) => char.charCodeAt(0)) : null;
    if (bytes?.byteLength !== KEY_BYTES) {
      throw new ConfigError(`${which} must be ${KEY_BYTES} bytes in base64, as \`openssl rand -base64 32\` makes`);
    }
    return bytes;
  });
  keys.forEach((key, index) => {
    const first = keys.findIndex((other) => other.every((byte, i) => byte === key[i]));
    if (first !== index) {
      throw new ConfigError(`KEY_ENCRYPTION_KEY key ${index + 1} of ${keys.length} is the same as key ${first + 1}`);
    }
  });
  return keys;
}

function ratePeriod(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULTS.RATE_LIMIT_PERIOD_SECONDS;
  // The only periods the Workers Rate Limiting binding accepts.
  if (raw.trim() !== "10" && raw.trim() !== "60") {
    throw new ConfigError(`RATE_LIMIT_PERIOD_SECONDS must be 10 or 60 (the binding's period), got "${raw}"`);
  }
  return Number(raw);
}

/** A whole number of requests; it only says what the binding allows, so it must equal the binding's `limit`. */
function rateRequests(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULTS.RATE_LIMIT_REQUESTS;
  const requests = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(requests) || requests < 1) {
    throw new ConfigError(`RATE_LIMIT_REQUESTS must be a whole number of requests of at least 1, got "${raw}"`);
  }
  return requests;
}
