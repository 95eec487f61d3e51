import { describe, expect, it } from "vitest";
import { call, TOKENS, uniquePool } from "../support/http";
import { expectError, expectOk } from "../support/keys";

/**
 * Two clients of one pool, each with a token of its own, where B tries what a hostile client would
 * to act on A's key: every lease it could guess, A's idempotency key, a secret of its own.
 */
const [A, B] = TOKENS.client;
const holding = (leaseToken: string) => ({ "KeyPool-Lease-Token": leaseToken });

async function poolWithKeys(count: number): Promise<string> {
  const base = `/pools/${uniquePool()}/keys`;
  expectOk(await call("POST", base, { json: { count } }), 201);
  return base;
}

/** What a client sees of the key: enough to tell that nothing about it changed. */
async function stateOf(base: string, keyId: string) {
  return expectOk(await call("GET", `${base}/${keyId}/info`, { token: A }));
}

describe("a client that guesses leases", () => {
  it("never releases, renews or keeps alive another client's key, whatever lease it tries", async () => {
    const base = await poolWithKeys(1);
    // B held the key once, so it knows the id and its own last lease; then A is assigned it.
    const first = expectOk(await call("GET", base, { token: B }));
    expectOk(
      await call("PUT", `${base}/${first.keyId}`, {
        token: B,
        json: { blocked: false },
        headers: holding(first.leaseToken),
      }),
    );
    const held = expectOk(await call("GET", base, { token: A }));
    expect(held.keyId).toBe(first.keyId);
    const before = await stateOf(base, held.keyId);

    for (let lease = 0; lease <= held.lease + 10; lease++) {
      const key = `${base}/${held.keyId}`;
      const tries = [
        call("PUT", key, { token: B, json: { blocked: false, lease: Math.max(lease, 1) } }),
        call("PUT", key, { token: B, json: { blocked: true, lease: Math.max(lease, 1) } }),
        call("PUT", `${key}/alive?lease=${lease}`, { token: B }),
        // B's own, stale secret, with the guessed lease.
        call("PUT", key, {
          token: B,
          json: { blocked: false, lease: Math.max(lease, 1) },
          headers: holding(first.leaseToken),
        }),
      ];
      for (const reply of await Promise.all(tries)) {
        expect([400, 409], JSON.stringify(reply.body)).toContain(reply.status);
      }
    }
    expect(await stateOf(base, held.keyId)).toEqual(before);
    // A still holds it, and proves it.
    const renewed = await call("PUT", `${base}/${held.keyId}`, {
      token: A,
      json: { blocked: true, lease: held.lease },
      headers: holding(held.leaseToken),
    });
    expect(expectOk(renewed).lease).toBe(held.lease);
    expectError(await call("GET", `${base}/${held.keyId}`, { token: B }), 403);
    expect(
      expectOk(await call("GET", `${base}/${held.keyId}`, { token: A, headers: holding(held.leaseToken) })).key,
    ).toBe(held.key);
  });

  it("cannot forge a secret: a well-formed random one is refused, a malformed one is a 400", async () => {
    const base = await poolWithKeys(1);
    const held = expectOk(await call("GET", base, { token: A }));
    const forged = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "");
    const key = `${base}/${held.keyId}`;
    expectError(await call("PUT", key, { token: B, json: { blocked: false }, headers: holding(forged) }), 409);
    const malformed = await call("PUT", key, { token: B, json: { blocked: false }, headers: holding("guess") });
    expectError(malformed, 400);
    for (const problem of malformed.body.details) expect(problem.path).toBe("headers.KeyPool-Lease-Token");
    expect((await stateOf(base, held.keyId)).isBlocked).toBe(true);
  });
});

describe("an Idempotency-Key of another caller", () => {
  it("is another key: replaying A's never answers A's assignment", async () => {
    const base = await poolWithKeys(2);
    const headers = { "Idempotency-Key": "shared-request-id-1" };
    const mine = expectOk(await call("GET", base, { token: A, headers }));
    const theirs = expectOk(await call("GET", base, { token: B, headers }));
    expect(theirs.keyId).not.toBe(mine.keyId);
    expect(theirs.leaseToken).not.toBe(mine.leaseToken);
    // A's own retry still answers A's assignment, secret included.
    expect(expectOk(await call("GET", base, { token: A, headers }))).toEqual(mine);
  });

  it("is refused with 410 once the block it handed out has ended, and no other key is handed out", async () => {
    for (const end of ["released", "deleted", "ran out"] as const) {
      const base = await poolWithKeys(2);
      const headers = { "Idempotency-Key": crypto.randomUUID() };
      const held = expectOk(await call("GET", base, { token: A, headers }));
      const key = `${base}/${held.keyId}`;
      if (end === "released") {
        expectOk(await call("PUT", key, { token: A, json: { blocked: false }, headers: holding(held.leaseToken) }));
      } else if (end === "deleted") {
        expectOk(await call("DELETE", key));
      } else {
        expectOk(await call("PUT", key, { json: { blocked: false } })); // an admin frees it
        expectOk(await call("PUT", key, { json: { blocked: true } })); // and blocks it again
      }
      const replay = await call("GET", base, { token: A, headers });
      expectError(replay, 410);
      expect(JSON.stringify(replay.body), end).not.toContain(held.key);
      expect(replay.body.error).toMatch(/ended/);
    }
  });
});

describe("a pool nobody made", () => {
  it("answers 404 to every call but an admin's create or settings, and does not come into being", async () => {
    const pool = uniquePool();
    const id = crypto.randomUUID();
    for (const [method, path] of [
      ["GET", `/pools/${pool}/keys`],
      ["GET", `/pools/${pool}/keys/${id}`],
      ["GET", `/pools/${pool}/keys/${id}/info`],
      ["PUT", `/pools/${pool}/keys/${id}/alive`],
    ] as const) {
      const reply = await call(method, path, { token: A });
      expect(reply, `${method} ${path}`).toMatchObject({ status: 404, body: { error: "No such pool" } });
    }
    expect(await call("GET", `/pools/${pool}`)).toMatchObject({ status: 404, body: { error: "No such pool" } });
    expectOk(await call("POST", `/pools/${pool}/keys`), 201);
    expectOk(await call("GET", `/pools/${pool}/keys`, { token: A }));
  });
});

describe("a pool that shows values to their holder only (revealValues: holder)", () => {
  it("shows a free key's value to nobody, and a held key's to its holder alone", async () => {
    const base = await poolWithKeys(2);
    const pool = base.split("/")[2] as string;
    const [free, other] = expectOk(await call("GET", `/pools/${pool}/list`)).keys.map((k: any) => k.keyId);
    expectOk(await call("GET", `${base}/${free}`, { token: B })); // the default: anyone, while free
    expectOk(await call("PUT", `/pools/${pool}/settings`, { json: { revealValues: "holder" } }));

    for (const token of [A, B, undefined]) {
      const reply = await call("GET", `${base}/${free}`, { token });
      expectError(reply, 403);
      expect(reply.body.error).toMatch(/only to its holder/);
    }
    const held = expectOk(await call("GET", base, { token: A }));
    expect([free, other]).toContain(held.keyId);
    expectError(await call("GET", `${base}/${held.keyId}`, { token: B }), 403);
    expectError(await call("GET", `${base}/${held.keyId}`), 403); // an admin is not its holder either
    const mine = await call("GET", `${base}/${held.keyId}`, { token: A, headers: holding(held.leaseToken) });
    expect(expectOk(mine)).toEqual({ keyId: held.keyId, key: held.key });
  });
});
