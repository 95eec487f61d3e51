import { beforeAll, describe, expect, it } from "vitest";
import { MAX_CREATE_BODY_BYTES } from "../../src/http/schemas";
import { useFakeClock } from "../support/clock";
import { call } from "../support/http";
import {
  blockKey,
  createKey,
  expectError,
  expectOk,
  infoOf,
  poolBase,
  type Reply,
  unknownId,
  warmUp,
} from "../support/keys";

const JSON_TYPE = { "content-type": "application/json" };
const MAX_BODY = 64 * 1024;
const MAX_CREATE_BODY = MAX_CREATE_BODY_BYTES;

/** A JSON text of `json` padded with trailing spaces to exactly `bytes` bytes (still valid JSON). */
function padded(json: unknown, bytes: number): string {
  const text = JSON.stringify(json);
  return text + " ".repeat(bytes - text.length);
}

/** `text` as a body stream in 16 KiB chunks: a request carries it without a Content-Length. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
      offset += 16 * 1024;
    },
  });
}

/** A pool of the test's own with one free key in it. */
async function poolWithKey(): Promise<{ base: string; keyId: string }> {
  const base = poolBase();
  return { base, keyId: await createKey(base) };
}

/** Asserts a pool has no free key: GET (assign) answers 404. */
async function expectNoFreeKey(base: string): Promise<void> {
  expectError(await call("GET", base), 404);
}

beforeAll(warmUp, 30_000);

describe("every non-2xx answer is JSON with a non-empty error message", () => {
  const cases: Array<[string, number, () => Promise<Reply>]> = [
    ["malformed JSON", 400, () => call("POST", poolBase(), { body: "{", headers: JSON_TYPE })],
    ["a blocked key's value", 403, blockedKeyValue],
    ["an unknown key", 404, () => call("GET", `${poolBase()}/${unknownId()}`)],
    ["no free key", 404, () => call("GET", poolBase())],
    ["an unknown route", 404, () => call("GET", "/nothing-here")],
    ["a wrong method", 405, () => call("PATCH", `/keys/${unknownId()}`)],
    ["a lease conflict", 409, leaseConflict],
    [
      "a body over its limit",
      413,
      () => call("POST", poolBase(), { body: padded({}, MAX_CREATE_BODY + 1), headers: JSON_TYPE }),
    ],
    ["a non-JSON content type", 415, () => call("POST", poolBase(), { body: "count=1" })],
  ];

  it.each(cases)("%s answers %i", async (_name, status, send) => {
    expectError(await send(), status);
  });

  async function blockedKeyValue(): Promise<Reply> {
    const { base, keyId } = await poolWithKey();
    await blockKey(base, keyId);
    return call("GET", `${base}/${keyId}`);
  }

  async function leaseConflict(): Promise<Reply> {
    const { base, keyId } = await poolWithKey();
    return call("PUT", `${base}/${keyId}/alive?lease=7`);
  }
});

describe("malformed bodies answer 400", () => {
  const bodies: Array<[string, BodyInit]> = [
    ["truncated JSON", '{"count":'],
    ["a JSON text with trailing garbage", '{"count": 1} x'],
    ["single-quoted JSON", "{'count': 1}"],
    ["bytes that are not UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
  ];

  it.each(bodies)("POST with %s creates nothing", async (_name, body) => {
    const base = poolBase();
    expectError(await call("POST", base, { body, headers: JSON_TYPE }), 400);
    await expectNoFreeKey(base);
  });

  it.each(bodies)("PUT with %s changes nothing", async (_name, body) => {
    const { base, keyId } = await poolWithKey();
    const before = await infoOf(base, keyId);
    expectError(await call("PUT", `${base}/${keyId}`, { body, headers: JSON_TYPE }), 400);
    expect(await infoOf(base, keyId)).toEqual(before);
  });
});

describe("bodies of the wrong shape answer 400", () => {
  const createBodies: Array<[string, unknown]> = [
    ["count as a string", { count: "3" }],
    ["count 0", { count: 0 }],
    ["count -1", { count: -1 }],
    ["count 1001, over the maximum", { count: 1001 }],
    ["count 1.5", { count: 1.5 }],
    ["count null", { count: null }],
    ["an unknown field", { count: 1, extra: true }],
    ["only an unknown field", { name: "x" }],
    ["JSON null", null],
    ["a JSON array", [{ count: 1 }]],
    ["an empty JSON array", []],
    ["a JSON string", "1"],
    ["a JSON number", 1],
  ];

  it.each(createBodies)("POST with %s creates nothing", async (_name, json) => {
    const base = poolBase();
    expectError(await call("POST", base, { json }), 400);
    await expectNoFreeKey(base);
  });

  const updateBodies: Array<[string, unknown]> = [
    ['blocked as the string "false"', { blocked: "false" }],
    ["blocked as a number", { blocked: 0 }],
    ["blocked null", { blocked: null }],
    ["no blocked field", {}],
    ["lease 0", { blocked: true, lease: 0 }],
    ["lease -1", { blocked: true, lease: -1 }],
    ["lease 1.5", { blocked: true, lease: 1.5 }],
    ['lease "x"', { blocked: true, lease: "x" }],
    ['lease as the string "1"', { blocked: false, lease: "1" }],
    ["an unknown field", { blocked: true, holder: "me" }],
    ["JSON null", null],
    ["a JSON array", [{ blocked: true }]],
    ["a JSON boolean", true],
  ];

  it.each(updateBodies)("PUT with %s changes nothing", async (_name, json) => {
    const { base, keyId } = await poolWithKey();
    const before = await infoOf(base, keyId);
    expectError(await call("PUT", `${base}/${keyId}`, { json }), 400);
    expect(await infoOf(base, keyId)).toEqual(before);
    expectOk(await call("GET", `${base}/${keyId}`));
  });

  it("PUT with no body at all answers 400", async () => {
    const { base, keyId } = await poolWithKey();
    expectError(await call("PUT", `${base}/${keyId}`, { headers: JSON_TYPE }), 400);
    expect((await infoOf(base, keyId)).isBlocked).toBe(false);
  });

  it.each(["0", "-1", "1.5", "x", ""])("keep-alive with ?lease=%s answers 400 and changes nothing", async (lease) => {
    const clock = useFakeClock();
    const { base, keyId } = await poolWithKey();
    const { lease: current } = await blockKey(base, keyId);
    const before = await infoOf(base, keyId);
    clock.advance(10_000);
    expectError(await call("PUT", `${base}/${keyId}/alive?lease=${lease}`), 400);
    expect(await infoOf(base, keyId)).toEqual(before);
    // The same request with the real lease does move the deadline, so "unchanged" above means something.
    expect((await call("PUT", `${base}/${keyId}/alive?lease=${current}`)).body.expiresAt).not.toBe(before.expiresAt);
  });
});

describe("routing", () => {
  it.each([
    "/nothing-here",
    "/key",
    `/keys/${crypto.randomUUID()}/other`,
    `/keys/${crypto.randomUUID()}/info/more`,
    "/pool",
    "/metrics/more",
    "/pools/some-pool/unknown",
    "/pools//keys",
  ])("GET %s is an unknown route: 404", async (path) => {
    expectError(await call("GET", path), 404);
  });

  const wrongMethods: Array<[string, string, string[]]> = [
    ["PATCH", "/keys/{id}", ["GET", "PUT", "DELETE"]],
    ["POST", "/keys/{id}", ["GET", "PUT", "DELETE"]],
    ["DELETE", "/keys", ["GET", "POST"]],
    ["PUT", "/keys", ["GET", "POST"]],
    ["POST", "/keys/{id}/info", ["GET"]],
    ["DELETE", "/keys/{id}/info", ["GET"]],
    ["GET", "/keys/{id}/alive", ["PUT"]],
    ["PATCH", "/pools/{pool}/keys/{id}", ["GET", "PUT", "DELETE"]],
    ["DELETE", "/pools/{pool}/keys", ["GET", "POST"]],
    ["POST", "/pools/{pool}/keys/{id}/info", ["GET"]],
    ["POST", "/pools", ["GET"]],
    ["DELETE", "/metrics", ["GET"]],
  ];

  it.each(wrongMethods)("%s %s answers 405 with Allow: %j", async (method, template, allowed) => {
    const base = template.startsWith("/pools/") ? poolBase() : "/keys";
    const keyId = await createKey(base);
    const path = template.replace("/pools/{pool}/keys", base).replace("{id}", keyId);
    const reply = await call(method, path, method === "GET" ? {} : { json: { blocked: true } });
    expectError(reply, 405);
    const allow = (reply.headers.get("allow") ?? "").split(",").map((m) => m.trim());
    expect(allow).toEqual(expect.arrayContaining(allowed));
    expect(allow).not.toContain(method);
    // A refused method does nothing, even with a body that would have blocked the key.
    expect((await infoOf(base, keyId)).isBlocked).toBe(false);
  });

  it("answers 404 to a path with a trailing slash instead of assigning a key for an empty id", async () => {
    const base = poolBase();
    const keyId = await createKey(base);
    expectError(await call("GET", `${base}/`), 404);
    expectError(await call("GET", `${base}/${keyId}/`), 404);
    expect((await infoOf(base, keyId)).isBlocked).toBe(false);
  });

  it.each([
    ["GET", ""],
    ["GET", "/{id}"],
    ["POST", ""],
    ["PUT", "/{id}/alive"],
  ])("%s %s answers 400 to an unknown query parameter and changes nothing", async (method, suffix) => {
    const base = poolBase();
    const keyId = await createKey(base);
    const reply = await call(method, `${base}${suffix.replace("{id}", keyId)}?leese=1`);
    expectError(reply, 400);
    expect(reply.body.error).toContain("leese");
    expect(await infoOf(base, keyId)).toMatchObject({ isBlocked: false });
    expect(expectOk(await call("GET", base)).keyId).toBe(keyId);
  });

  describe("an id that is not a UUID names no key: 404", () => {
    const ids = ["not-a-uuid", "123", "7f1c2a9e4b0d4c599a3e2f6d8b1e5c40", "7f1c2a9e-4b0d-4c59-9a3e-2f6d8b1e5c4"];
    const requests: Array<[string, (base: string, id: string) => Promise<Reply>]> = [
      ["GET /{id}", (base, id) => call("GET", `${base}/${id}`)],
      ["GET /{id}/info", (base, id) => call("GET", `${base}/${id}/info`)],
      ["PUT /{id}", (base, id) => call("PUT", `${base}/${id}`, { json: { blocked: true } })],
      ["PUT /{id}/alive", (base, id) => call("PUT", `${base}/${id}/alive`)],
      ["DELETE /{id}", (base, id) => call("DELETE", `${base}/${id}`)],
    ];
    for (const [name, send] of requests) {
      it.each(ids)(`${name} with id %s`, async (id) => {
        const { base, keyId } = await poolWithKey();
        expectError(await send(base, id), 404);
        expectError(await send("/keys", id), 404);
        expectOk(await call("GET", `${base}/${keyId}`));
      });
    }
  });
});

describe("body size limit (1 MiB for POST /keys, 64 KiB elsewhere)", () => {
  it("accepts a POST /keys body of exactly 1 MiB", async () => {
    const base = poolBase();
    const reply = await call("POST", base, { body: padded({ count: 2 }, MAX_CREATE_BODY), headers: JSON_TYPE });
    expect(expectOk(reply, 201).keyIds).toHaveLength(2);
  });

  it("answers 413 to a body one byte over, sent with its Content-Length, and creates nothing", async () => {
    const base = poolBase();
    const body = padded({ count: 2 }, MAX_CREATE_BODY + 1);
    const headers = { ...JSON_TYPE, "content-length": String(body.length) };
    expectError(await call("POST", base, { body, headers }), 413);
    await expectNoFreeKey(base);
  });

  it("answers 413 to an oversized streamed body without a Content-Length, and creates nothing", async () => {
    const base = poolBase();
    const body = streamOf(padded({ count: 2 }, 2 * MAX_CREATE_BODY));
    const probe = new Request("http://keypool.test/", { method: "POST", body: streamOf("{}") });
    expect(probe.headers.get("content-length")).toBeNull();
    expectError(await call("POST", base, { body, headers: JSON_TYPE }), 413);
    await expectNoFreeKey(base);
  });

  it("answers 413 to an oversized PUT body, with or without Content-Length, and changes nothing", async () => {
    const { base, keyId } = await poolWithKey();
    const text = padded({ blocked: true }, MAX_BODY + 1);
    expectError(await call("PUT", `${base}/${keyId}`, { body: text, headers: JSON_TYPE }), 413);
    expectError(await call("PUT", `${base}/${keyId}`, { body: streamOf(text), headers: JSON_TYPE }), 413);
    expect((await infoOf(base, keyId)).isBlocked).toBe(false);
  });
});

describe("content type", () => {
  it.each([
    ["text/plain", '{"count": 2}'],
    ["application/x-www-form-urlencoded", "count=2"],
    ["multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="count"\r\n\r\n2\r\n--x--'],
    ["application/jsonx", '{"count": 2}'],
  ])("POST with a %s body answers 415 and creates nothing", async (type, body) => {
    const base = poolBase();
    expectError(await call("POST", base, { body, headers: { "content-type": type } }), 415);
    await expectNoFreeKey(base);
  });

  it("names an unknown field or query parameter in the path of its details", async () => {
    const field = await call("POST", poolBase(), { json: { count: 1, extra: 1 } });
    expectError(field, 400);
    expect(field.body.details).toEqual([{ path: "body.extra", message: "Unknown field" }]);
    const parameter = await call("GET", `${poolBase()}?leese=1`);
    expectError(parameter, 400);
    expect(parameter.body.details).toEqual([{ path: "query.leese", message: "Unknown query parameter" }]);
  });

  it("says which header was wrong in the same `details` shape as every other error", async () => {
    const reply = await call("POST", poolBase(), { body: "count=2", headers: { "content-type": "text/plain" } });
    expectError(reply, 415);
    expect(reply.body.details).toEqual([
      { path: "headers.content-type", message: 'must be application/json or a +json type, got "text/plain"' },
    ]);
  });

  it("PUT with a text/plain body answers 415 and changes nothing", async () => {
    const { base, keyId } = await poolWithKey();
    const reply = await call("PUT", `${base}/${keyId}`, {
      body: '{"blocked": true}',
      headers: { "content-type": "text/plain" },
    });
    expectError(reply, 415);
    expect((await infoOf(base, keyId)).isBlocked).toBe(false);
  });

  it.each(["application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"])(
    "accepts a JSON body sent as %s",
    async (type) => {
      const reply = await call("POST", poolBase(), { body: '{"count": 2}', headers: { "content-type": type } });
      expect(expectOk(reply, 201).keyIds).toHaveLength(2);
    },
  );
});

describe("pool names", () => {
  const badNames: Array<[string, string]> = [
    ["65 characters long", "a".repeat(65)],
    ["with a dot", "a.b"],
    ["with an encoded space", "a%20b"],
    ["with an encoded slash", "a%2Fb"],
    ["with non-ASCII letters", "p%C3%A4ys"],
  ];
  const operations: Array<[string, (base: string) => Promise<Reply>]> = [
    ["POST", (base) => call("POST", base, { json: { count: 1 } })],
    ["GET (assign)", (base) => call("GET", base)],
    ["GET /{id}", (base) => call("GET", `${base}/${unknownId()}`)],
    ["GET /{id}/info", (base) => call("GET", `${base}/${unknownId()}/info`)],
    ["PUT /{id}", (base) => call("PUT", `${base}/${unknownId()}`, { json: { blocked: true } })],
    ["PUT /{id}/alive", (base) => call("PUT", `${base}/${unknownId()}/alive`)],
    ["DELETE /{id}", (base) => call("DELETE", `${base}/${unknownId()}`)],
  ];
  for (const [operation, send] of operations) {
    it.each(badNames)(`${operation} with a pool name %s answers 400`, async (_why, name) => {
      expectError(await send(`/pools/${name}/keys`), 400);
    });
  }

  it("accepts a pool name of 64 characters of letters, digits, _ and -", async () => {
    const name = `Aa0_-${crypto.randomUUID().replaceAll("-", "")}`.padEnd(64, "z");
    expect(name).toHaveLength(64);
    const base = `/pools/${name}/keys`;
    const keyId = await createKey(base);
    expect(expectOk(await call("GET", base)).keyId).toBe(keyId);
  });
});

describe("refused requests change nothing", () => {
  it("a 403 on a blocked key's value leaves the block as it was", async () => {
    const clock = useFakeClock();
    const { base, keyId } = await poolWithKey();
    await blockKey(base, keyId);
    const before = await infoOf(base, keyId);
    clock.advance(1_000);
    expectError(await call("GET", `${base}/${keyId}`), 403);
    expect(await infoOf(base, keyId)).toEqual(before);
  });

  it("a 409 keep-alive leaves lastActivity and expiresAt as they were", async () => {
    const clock = useFakeClock();
    const { base, keyId } = await poolWithKey();
    const { lease } = await blockKey(base, keyId);
    const before = await infoOf(base, keyId);
    clock.advance(5_000);
    expectError(await call("PUT", `${base}/${keyId}/alive?lease=${lease + 1}`), 409);
    expect(await infoOf(base, keyId)).toEqual(before);
  });

  it("a 400 keep-alive with an unknown query parameter leaves the key as it was", async () => {
    const clock = useFakeClock();
    const { base, keyId } = await poolWithKey();
    const before = await infoOf(base, keyId);
    clock.advance(5_000);
    expectError(await call("PUT", `${base}/${keyId}/alive?leese=1`), 400);
    expect(await infoOf(base, keyId)).toEqual(before);
  });

  it("a 405 DELETE /keys deletes nothing", async () => {
    const { base, keyId } = await poolWithKey();
    expectError(await call("DELETE", base), 405);
    expectOk(await call("GET", `${base}/${keyId}`));
  });
});
