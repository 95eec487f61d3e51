/**
 * What the bench drives: the platform's ceilings, each pool operation over RPC from the driver
 * Worker (no router, no validation) and each endpoint through the full HTTP stack. Every scenario is
 * an autocannon request sequence that each connection repeats; ids are drawn at random from a
 * sample of the pool's keys so reads and writes touch the whole table, not one cached row.
 * HTTP requests carry the token a real caller needs: a client token, or the admin token for
 * creating keys and for blocking a key without a lease (an operator's call).
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
];
