/**
 * What the bench drives: the platform's ceilings, each pool operation over RPC from the driver
 * Worker (no router, no validation) and each endpoint through the full HTTP stack. Every scenario is
 * an autocannon request sequence that each connection repeats; ids are drawn at random from a
 * sample of the pool's keys so reads and writes touch the whole table, not one cached row.
 * HTTP requests carry the token a real caller needs: a client token, or the admin token for
 * creating keys and for blocking a key without a lease (an operator's call).
 *
 * A scenario's target is `{ pool, ids, auth, dry }`: `dry` is a pool of the same size with no key free
 * (half blocked, half cooling, for longer than the run: bench/run.mjs `dryUp`) and `dry.ids` a sample
 * of its blocked keys.
 */
import { jsonHeaders, pick } from "./load.mjs";

/** Remembers the key and lease an assignment or a block answered, for the unblock that follows. */
function remember(unwrap) {
  return (_status, body, context) => {
    const value = unwrap(JSON.parse(body));
    context.id = value?.keyId ?? context.id;
    context.lease = value?.lease;
    context.leaseToken = value?.leaseToken;
  };
}
const fromRpc = (answer) => (answer?.ok ? answer.value : undefined);
const fromHttp = (answer) => answer;

/** Sets a request's path (and body, and headers of its own) just before it is sent. */
function at(makePath, makeBody, makeHeaders) {
  return (request, context) => {
    request.path = makePath(context);
    if (makeBody !== undefined) request.body = JSON.stringify(makeBody(context));
    if (makeHeaders !== undefined) request.headers = { ...request.headers, ...makeHeaders(context) };
    return request;
  };
}

/** The holder's proof of the block the previous request started (a client acts as the holder only with it). */
const asHolder = (c) => (c.leaseToken ? { "KeyPool-Lease-Token": c.leaseToken } : {});

/**
 * An assignment and its holder's report on the key: over RPC, `query` for the driver's report route;
 * over HTTP, `body` for `POST /pools/{pool}/keys/{id}/report`.
 */
function assignThenReport(query, body) {
  return {
    driver: ({ pool }) => [
      { method: "GET", path: `/assign/${pool}`, onResponse: remember(fromRpc) },
      { method: "POST", setupRequest: at((c) => `/report/${pool}/${c.id}?${query}&lease=${c.lease}`) },
    ],
    http: ({ pool, auth }) => [
      { method: "GET", path: `/pools/${pool}/keys`, headers: auth.client, onResponse: remember(fromHttp) },
      {
        method: "POST",
        headers: { ...auth.client, ...jsonHeaders },
        setupRequest: at(
          (c) => `/pools/${pool}/keys/${c.id}/report`,
          () => body,
          asHolder,
        ),
      },
    ],
  };
}

/** The platform's own ceilings, served by the driver Worker. */
export const CEILINGS = {
  noop: { label: "no-op RPC", requests: () => [{ method: "GET", path: "/noop" }] },
  read: { label: "one-row SQLite read", requests: () => [{ method: "GET", path: "/read" }] },
  write: { label: "one-row SQLite write", requests: () => [{ method: "POST", path: "/write" }] },
};

/**
 * The pool operations, each as the driver calls it over RPC and as a client calls the endpoint.
 * `ceiling` is what the figure is compared with: reads with the no-op RPC, writes with the bare write.
 * `perCycle` is how many requests one pass of the sequence sends.
 */
export const OPERATIONS = [
  {
    endpoint: "POST /keys",
    rpc: "create(1)",
    ceiling: "write",
    driver: ({ pool }) => [{ method: "POST", path: `/create/${pool}` }],
    http: ({ pool, auth }) => [{ method: "POST", path: `/pools/${pool}/keys`, headers: auth.admin }],
  },
  {
    endpoint: "GET /keys + unblock",
    rpc: "assign() + setBlocked(false, lease)",
    ceiling: "write",
    driver: ({ pool }) => [
      { method: "GET", path: `/assign/${pool}`, onResponse: remember(fromRpc) },
      { method: "PUT", setupRequest: at((c) => `/block/${pool}/${c.id}?blocked=false&lease=${c.lease}`) },
    ],
    http: ({ pool, auth }) => [
      { method: "GET", path: `/pools/${pool}/keys`, headers: auth.client, onResponse: remember(fromHttp) },
      {
        method: "PUT",
        headers: { ...auth.client, ...jsonHeaders },
        setupRequest: at(
          (c) => `/pools/${pool}/keys/${c.id}`,
          (c) => ({ blocked: false, lease: c.lease }),
          asHolder,
        ),
      },
    ],
  },
  {
    endpoint: "GET /keys/{id}",
    rpc: "reveal(id)",
    ceiling: "noop",
    driver: ({ pool, ids }) => [{ method: "GET", setupRequest: at(() => `/reveal/${pool}/${pick(ids)}`) }],
    http: ({ pool, ids, auth }) => [
      { method: "GET", headers: auth.client, setupRequest: at(() => `/pools/${pool}/keys/${pick(ids)}`) },
    ],
  },
  {
    endpoint: "GET /keys/{id}/info",
    rpc: "info(id)",
    ceiling: "noop",
    driver: ({ pool, ids }) => [{ method: "GET", setupRequest: at(() => `/info/${pool}/${pick(ids)}`) }],
    http: ({ pool, ids, auth }) => [
      { method: "GET", headers: auth.client, setupRequest: at(() => `/pools/${pool}/keys/${pick(ids)}/info`) },
    ],
  },
  {
    endpoint: "PUT /keys/{id}/alive",
    rpc: "keepAlive(id)",
    ceiling: "write",
    driver: ({ pool, ids }) => [{ method: "PUT", setupRequest: at(() => `/alive/${pool}/${pick(ids)}`) }],
    http: ({ pool, ids, auth }) => [
      { method: "PUT", headers: auth.client, setupRequest: at(() => `/pools/${pool}/keys/${pick(ids)}/alive`) },
    ],
  },
  {
    endpoint: "PUT /keys/{id} block + unblock",
    rpc: "setBlocked(true) + setBlocked(false, lease)",
    ceiling: "write",
    driver: ({ pool, ids }) => [
      {
        method: "PUT",
        setupRequest: at((c) => {
          c.id = pick(ids);
          return `/block/${pool}/${c.id}?blocked=true`;
        }),
        onResponse: remember(fromRpc),
      },
      {
        method: "PUT",
        setupRequest: at((c) => `/block/${pool}/${c.id}?blocked=false${c.lease ? `&lease=${c.lease}` : ""}`),
      },
    ],
    http: ({ pool, ids, auth }) => [
      {
        method: "PUT",
        headers: { ...auth.admin, ...jsonHeaders },
        setupRequest: at(
          (c) => {
            c.id = pick(ids);
            return `/pools/${pool}/keys/${c.id}`;
          },
          () => ({ blocked: true }),
        ),
        onResponse: remember(fromHttp),
      },
      {
        method: "PUT",
        headers: { ...auth.admin, ...jsonHeaders },
        setupRequest: at(
          (c) => `/pools/${pool}/keys/${c.id}`,
          (c) => (c.lease ? { blocked: false, lease: c.lease } : { blocked: false }),
        ),
      },
    ],
  },
  // Key health (issue 14). The holder reports what the upstream answered instead of unblocking.
  {
    endpoint: "GET /keys + report ok, release",
    rpc: "assign() + report(ok, release)",
    ceiling: "write",
    ...assignThenReport("outcome=ok&release=true", { outcome: "ok", release: true }),
  },
  // A 429 with a 1 ms wait: the key cools down (its cooling-index entry, the alarm armed for it) and is
  // free again a millisecond later, ended by the next assignment or the alarm, so the pool never runs dry.
  {
    endpoint: "GET /keys + report rate_limited",
    rpc: "assign() + report(rate_limited, 1 ms)",
    ceiling: "write",
    ...assignThenReport("outcome=rate_limited&retryAfterMs=1", { outcome: "rate_limited", retryAfterSeconds: 0.001 }),
  },
  // The earliest-free probe: no key is free, so the answer is 404 with when one will be (Retry-After).
  {
    endpoint: "GET /keys, none free",
    rpc: "assign(), none free",
    ceiling: "noop",
    expect: 404,
    driver: ({ dry }) => [{ method: "GET", path: `/assign/${dry.pool}` }],
    http: ({ dry, auth }) => [{ method: "GET", path: `/pools/${dry.pool}/keys`, headers: auth.client }],
  },
];

/**
 * Pairs of calls the driver makes in one request (no HTTP API sends both): an ordinary assignment with
 * the release of it, and an assignment handed to a waiting caller with the release that freed the key
 * (issue 14's target: the second costs no more than the first). Each scenario's request is one pair.
 */
export const PAIRS = [
  {
    id: "ordinary",
    label: "assign() + setBlocked(false, lease): an ordinary assignment and its release",
    requests: ({ pool }) => [{ method: "POST", path: `/pair/${pool}` }],
  },
  {
    id: "handoff",
    label: "assign({waitSeconds}) waiting + setBlocked(false) of a held key, which hands it to the waiter",
    requests: ({ dry }) => [{ method: "POST", setupRequest: at(() => `/handoff/${dry.pool}/${pick(dry.ids)}`) }],
  },
];
