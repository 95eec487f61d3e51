/**
 * The IETF HTTPAPI rate-limit fields KeyPool sends to rate-limited callers: `RateLimit-Policy`
 * (`"client";q=300;w=60`: the quota per window) on every answer, `RateLimit` (`"client";r=0;t=60`:
 * what remains, and when it resets at the latest) once the quota is spent. Pure: it reads headers.
 */
export interface RateLimitInfo {
  /** The policy's name: `client` (counted per token) or `address` (callers without a valid token). */
  readonly policy: string;
  /** Requests allowed per window (`q`). */
  readonly quota?: number | undefined;
  /** The window, in seconds (`w`). */
  readonly windowSeconds?: number | undefined;
  /** Requests left in this window (`r`); KeyPool sends it once none are. */
  readonly remaining?: number | undefined;
  /** Seconds until the quota is available again, at the latest (`t`). */
  readonly resetSeconds?: number | undefined;
}

/** What the answer's rate-limit fields say, or undefined when it has none (admins, local mode). */
export function parseRateLimit(headers: Headers): RateLimitInfo | undefined {
  const [policy] = items(headers.get("ratelimit-policy"));
  const [state] = items(headers.get("ratelimit"));
  const name = policy?.name ?? state?.name;
  if (name === undefined) return undefined;
  const current = state?.name === name ? state : undefined;
  return {
    policy: name,
    quota: policy?.params.q,
    windowSeconds: policy?.params.w,
    remaining: current?.params.r,
    resetSeconds: current?.params.t,
  };
}

interface Item {
  readonly name: string;
  readonly params: Readonly<Record<string, number>>;
}

/** A structured-field list of items (RFC 9651) with integer parameters; anything else is skipped. */
function items(field: string | null): Item[] {
  if (field === null) return [];
  const found: Item[] = [];
  for (const member of field.split(",")) {
    const [head, ...parameters] = member.split(";").map((part) => part.trim());
    const name = /^"([^"\\]*)"$/.exec(head ?? "")?.[1] ?? /^[A-Za-z*][\w:./*-]*$/.exec(head ?? "")?.[0];
    if (name === undefined) continue;
    const params: Record<string, number> = {};
    for (const parameter of parameters) {
      const match = /^([a-z*][a-z0-9_.*-]*)=(\d{1,15})$/.exec(parameter);
      if (match?.[1] !== undefined) params[match[1]] = Number(match[2]);
    }
    found.push({ name, params });
  }
  return found;
}
