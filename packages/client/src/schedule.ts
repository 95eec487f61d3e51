/**
 * When a lease renews. Pure: times are passed in. A held key has two deadlines, the end of its block
 * (`releaseAt`) and the end of its life (`expiresAt`, none in a pool whose keys do not expire); each
 * is renewed a third of its period before it passes. Deadlines are measured on the caller's clock
 * from when the request that reported them was sent, using the server's own differences, so a skewed
 * clock does not matter and a slow answer only makes the estimate earlier (safer).
 */

import type { KeyInfo } from "./types.js";

export interface LeaseDeadlines {
  /** Local time at which the block ends unless renewed. */
  readonly blockEndsAt: number;
  /** The assignment's hold: how long each renewal extends the block. */
  readonly holdMs: number;
  /** The key's life, or null in a pool whose keys do not expire (`expiresAt: null`). */
  readonly life: KeyLife | null;
}

export interface KeyLife {
  /** Local time at which the key expires unless kept alive. */
  readonly endsAt: number;
  /** The pool's key TTL: how long each keep-alive extends the key's life. */
  readonly ttlMs: number;
}

/** Share of a period left when renewal is due. */
const RENEW_WHEN_LEFT = 1 / 3;

/**
 * The deadlines an info answer implies. `serverNow` is the server's time of the change that answer
 * reports (`lastActivity` after a keep-alive, `blockedAt` after a renewal); `sentAt` is the local
 * time the request was sent. Returns null when the answer shows the key is not blocked.
 */
export function deadlinesFrom(info: KeyInfo, serverNow: string, sentAt: number): LeaseDeadlines | null {
  if (info.blockedAt === null || info.releaseAt === null) return null;
  const now = Date.parse(serverNow);
  const releaseAt = Date.parse(info.releaseAt);
  const expiresAt = info.expiresAt === null ? null : Date.parse(info.expiresAt);
  return {
    blockEndsAt: sentAt + (releaseAt - now),
    holdMs: releaseAt - Date.parse(info.blockedAt),
    life:
      expiresAt === null
        ? null
        : { endsAt: sentAt + (expiresAt - now), ttlMs: expiresAt - Date.parse(info.lastActivity) },
  };
}

/**
 * When each renewal is due. A key that does not expire is still kept alive with every renewal of its
 * block: that records its activity, and learns of an expiry as soon as an admin switches `keysExpire`
 * on (keys then expire one key TTL after the switch).
 */
export function renewalTimes(d: LeaseDeadlines): { renewBlockAt: number; keepAliveAt: number } {
  const renewBlockAt = d.blockEndsAt - d.holdMs * RENEW_WHEN_LEFT;
  return {
    renewBlockAt,
    keepAliveAt: d.life === null ? renewBlockAt : d.life.endsAt - d.life.ttlMs * RENEW_WHEN_LEFT,
  };
}

/** The first of the two deadlines: past it, the lease cannot be trusted any more. */
export function firstDeadline(d: LeaseDeadlines): number {
  return d.life === null ? d.blockEndsAt : Math.min(d.blockEndsAt, d.life.endsAt);
}
