import { describe, expect, it } from "vitest";
import { KeyPoolClient, KeyPoolError, type Timers } from "../../packages/client/src/index.js";

/** Timers that fire at once and record each wait, so backoff is observed without waiting. */
function instantTimers(): Timers & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => Date.UTC(2026, 10, 25, 12, 0, 0),
    setTimeout(callback, ms) {
      waits.push(ms);
      queueMicrotask(() => void callback());
      return waits.length;
    },
    clearTimeout() {},
  };
}

type Step = Response | Error | ((request: Request) => Promise<Response>);

/** A fetch that answers from a script, one step per attempt, and records every request. */
function scripted(...steps: Step[]) {
  const requests: Request[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    requests.push(request);
    const step = steps.shift();
    if (step === undefined) throw new Error("no more scripted answers");
    if (step instanceof Error) throw step;
    return typeof step === "function" ? step(request) : step;
  };
  return { fetch, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const created = () => json(201, { keyId: "3b241101-e2bb-4255-8caf-4136c566a962" });

function client(fetch: (request: Request) => Promise<Response>, timers = instantTimers()) {
  return new KeyPoolClient({ baseUrl: "https://keypool.example/", token: "t0ken", fetch, timers });
}

describe("requests", () => {
  it("address the pool, send the bearer token, JSON and an Idempotency-Key on mutating calls", async () => {
    const { fetch, requests } = scripted(created(), json(200, {}), json(200, {}));
    const pooled = new KeyPoolClient({ baseUrl: "https://keypool.example", token: "t0ken", pool: "pay ments", fetch });
    await pooled.createKeys(3);
    await pooled.keepAlive("a/b", { lease: 7 });
    await pooled.info("x");
    const [create, alive, info] = requests as [Request, Request, Request];
    expect(create.method).toBe("POST");
    expect(create.url).toBe("https://keypool.example/pools/pay%20ments/keys");
    expect(create.headers.get("authorization")).toBe("Bearer t0ken");
    expect(create.headers.get("content-type")).toBe("application/json");
    expect(await create.json()).toEqual({ count: 3 });
    expect(create.headers.get("idempotency-key")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(alive.url).toBe("https://keypool.example/pools/pay%20ments/keys/a%2Fb/alive?lease=7");
    expect(alive.headers.get("idempotency-key")).not.toBeNull();
    expect(info.method).toBe("GET");
    expect(info.headers.get("idempotency-key")).toBeNull();
  });

  it("send no Authorization header without a token, and use /keys without a pool", async () => {
    const { fetch, requests } = scripted(created());
    await new KeyPoolClient({ baseUrl: "https://keypool.example", fetch }).createKey();
    expect(requests[0]?.url).toBe("https://keypool.example/keys");
    expect(requests[0]?.headers.get("authorization")).toBeNull();
    expect(await requests[0]?.text()).toBe("");
  });

  it("read the operator's metrics as text, asking for text, and list pools from the root whatever the pool", async () => {
    const metrics = '# HELP keypool_pool_up Up.\n# TYPE keypool_pool_up gauge\nkeypool_pool_up{pool="p"} 1\n';
    const text = () =>
      new Response(metrics, { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
    const { fetch, requests } = scripted(text(), text(), json(200, { pools: [], cursor: null }));
    const pooled = new KeyPoolClient({ baseUrl: "https://keypool.example", pool: "p", fetch });
    expect(await pooled.poolMetrics()).toBe(metrics);
    expect(await pooled.metrics({ limit: 2 })).toBe(metrics);
    expect(await pooled.listPools({ cursor: "cDpw" })).toEqual({ pools: [], cursor: null });
    expect(requests.map((request) => request.url)).toEqual([
      "https://keypool.example/pools/p/metrics",
      "https://keypool.example/metrics?limit=2",
      "https://keypool.example/pools?cursor=cDpw",
    ]);
    expect(requests.map((request) => request.headers.get("accept"))).toEqual([
      "text/plain",
      "text/plain",
      "application/json",
    ]);
  });

  it("accept a service binding object as fetch", async () => {
    const requests: Request[] = [];
    const binding = {
      async fetch(this: unknown, request: Request) {
        if (this !== binding) throw new TypeError("Illegal invocation");
        requests.push(request);
        return created();
      },
    };
    await new KeyPoolClient({ baseUrl: "https://keypool.internal", fetch: binding }).createKey();
    expect(requests).toHaveLength(1);
  });
});

describe("retries", () => {
  it("send a call again after network errors and 5xx, with the same Idempotency-Key, and back off", async () => {
    const timers = instantTimers();
    const { fetch, requests } = scripted(new TypeError("network down"), json(503, { error: "busy" }), created());
    expect(await client(fetch, timers).createKey()).toEqual({ keyId: "3b241101-e2bb-4255-8caf-4136c566a962" });
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers.get("idempotency-key"))).size).toBe(1);
    expect(timers.waits).toHaveLength(2);
    expect(timers.waits[0]).toBeLessThan(100);
    expect(timers.waits[1]).toBeLessThan(200);
  });

  it("wait as long as Retry-After says on a 429", async () => {
    const timers = instantTimers();
    const { fetch, requests } = scripted(json(429, { error: "slow down" }, { "retry-after": "2" }), created());
    await client(fetch, timers).createKey();
    expect(requests).toHaveLength(2);
    expect(timers.waits).toEqual([2_000]);
  });

  it("give up with the 429 when Retry-After is longer than the policy allows", async () => {
    const { fetch, requests } = scripted(json(429, { error: "slow down" }, { "retry-after": "3600" }), created());
    const error = await client(fetch)
      .createKey()
      .catch((e) => e);
    expect(error).toBeInstanceOf(KeyPoolError);
    expect(error).toMatchObject({ status: 429, message: "slow down", retryAfterMs: 3_600_000, attempts: 1 });
    expect(requests).toHaveLength(1);
  });

  it("never retry a client error, and carry its status, message and details", async () => {
    const details = [{ path: "body.count", message: "Too big" }];
    const { fetch, requests } = scripted(json(400, { error: "Invalid request", details }));
    const error = await client(fetch)
      .createKeys(5000)
      .catch((e) => e);
    expect(error).toMatchObject({ name: "KeyPoolError", status: 400, message: "Invalid request", details });
    expect(requests).toHaveLength(1);
  });

  it("stop after the configured attempts with the last error", async () => {
    const { fetch, requests } = scripted(...Array.from({ length: 4 }, () => json(500, { error: "Internal error" })));
    const error = await client(fetch)
      .info("x")
      .catch((e) => e);
    expect(error).toMatchObject({ status: 500, message: "Internal error", attempts: 4 });
    expect(requests).toHaveLength(4);
  });

  it("report a call that never got an answer with status 0 and the cause", async () => {
    const down = new TypeError("connection refused");
    const { fetch } = scripted(down, down, down, down);
    const error = await client(fetch)
      .createKey()
      .catch((e) => e);
    expect(error).toMatchObject({ status: 0, attempts: 4, cause: down });
    expect(error.message).toContain("connection refused");
  });

  it("name the status of an error answer that is not JSON", async () => {
    const { fetch } = scripted(new Response("<html>bad gateway</html>", { status: 404 }));
    await expect(client(fetch).info("x")).rejects.toMatchObject({ status: 404, message: "HTTP 404" });
  });

  it("time out an attempt that hangs, then retry it", async () => {
    const hang = (request: Request) =>
      new Promise<Response>((_resolve, reject) =>
        request.signal.addEventListener("abort", () => reject(request.signal.reason)),
      );
    const { fetch, requests } = scripted(hang, created());
    const quick = new KeyPoolClient({ baseUrl: "https://k.example", fetch, timeoutMs: 20, timers: instantTimers() });
    await expect(quick.createKey()).resolves.toMatchObject({ keyId: expect.any(String) });
    expect(requests).toHaveLength(2);
  });

  it("stop at once when the caller aborts, without retrying", async () => {
    const controller = new AbortController();
    const hang = (request: Request) =>
      new Promise<Response>((_resolve, reject) =>
        request.signal.addEventListener("abort", () => reject(request.signal.reason)),
      );
    const { fetch, requests } = scripted(hang, created());
    const pending = client(fetch).createKey({ signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    await expect(pending).rejects.toThrow("caller gave up");
    expect(requests).toHaveLength(1);
  });

  it("use the caller's Idempotency-Key when given", async () => {
    const { fetch, requests } = scripted(created());
    await client(fetch).createKey({ idempotencyKey: "order-42" });
    expect(requests[0]?.headers.get("idempotency-key")).toBe("order-42");
  });
});

describe("waiting for a free key", () => {
  const assignment = () =>
    json(200, { keyId: "3b241101-e2bb-4255-8caf-4136c566a962", key: "k", lease: 1, releaseAt: "", leaseToken: "t" });

  it("sends waitSeconds, and extends the attempt's timeout by the wait", async () => {
    // Answers after 100 ms, unless the attempt is aborted first.
    const slow = (request: Request) =>
      new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(() => resolve(assignment()), 100);
        request.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(request.signal.reason);
        });
      });
    const waiting = scripted(slow);
    const quick = (fetch: (request: Request) => Promise<Response>) =>
      new KeyPoolClient({ baseUrl: "https://k.example", fetch, timeoutMs: 20, retry: { attempts: 1 } });
    await expect(quick(waiting.fetch).assign({ waitSeconds: 1 })).resolves.toMatchObject({ lease: 1 });
    expect(new URL(waiting.requests[0]?.url ?? "").search).toBe("?waitSeconds=1");
    // The same answer without a wait times out.
    await expect(quick(scripted(slow).fetch).assign()).rejects.toMatchObject({ status: 0 });
  });

  it("a 404 for no free key carries retryAfterSeconds, and is not retried", async () => {
    const body = { error: "No free key available", retryAfterSeconds: 7 };
    const { fetch, requests } = scripted(json(404, body, { "retry-after": "7" }));
    const error = await client(fetch)
      .assign({ waitSeconds: 5 })
      .catch((e) => e);
    expect(error).toMatchObject({ status: 404, retryAfterSeconds: 7, retryAfterMs: 7_000, attempts: 1 });
    expect(requests).toHaveLength(1);
  });

  it("a 429 for too many waiting callers is retried after its Retry-After, with the same Idempotency-Key", async () => {
    const timers = instantTimers();
    const full = { error: "Too many callers are already waiting for a key in this pool: retry later" };
    const { fetch, requests } = scripted(
      json(429, { ...full, retryAfterSeconds: 5 }, { "retry-after": "5" }),
      assignment(),
    );
    await expect(client(fetch, timers).assign({ waitSeconds: 10 })).resolves.toMatchObject({ lease: 1 });
    expect(timers.waits).toEqual([5_000]);
    expect(requests[0]?.headers.get("idempotency-key")).toBe(requests[1]?.headers.get("idempotency-key"));
    // One longer than the policy waits for is the caller's to handle.
    const refused = scripted(json(429, { ...full, retryAfterSeconds: 60 }, { "retry-after": "60" }));
    await expect(client(refused.fetch).assign({ waitSeconds: 10 })).rejects.toMatchObject({
      status: 429,
      retryAfterSeconds: 60,
      retryAfterMs: 60_000,
    });
  });
});
