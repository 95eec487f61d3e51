import { describe, expect, it } from "vitest";
import { ConfigError, configOf, DEFAULTS, parseConfig, sha256 } from "../src/config";
import { thrownBy } from "./support/thrown";

const A = "admin-token-0123456789";
const B = "admin-token-abcdefghij";
const C = "client-token-0123456789";

describe("timings", () => {
  it("default to the contract's 300 s key TTL, 60 s block TTL and 3600 s longest hold", () => {
    const config = parseConfig({});
    expect(config.timings).toEqual({
      keyTtlMs: DEFAULTS.KEY_TTL_SECONDS * 1000,
      blockTtlMs: DEFAULTS.BLOCK_TTL_SECONDS * 1000,
    });
    expect(config.timings).toEqual({ keyTtlMs: 300_000, blockTtlMs: 60_000 });
    expect(config.maxHoldMs).toBe(3_600_000);
  });

  it("accept fractions of a second, kept to whole milliseconds", () => {
    const config = parseConfig({ KEY_TTL_SECONDS: "2", BLOCK_TTL_SECONDS: "0.25", MAX_HOLD_SECONDS: "7200" });
    expect(config.timings).toEqual({ keyTtlMs: 2_000, blockTtlMs: 250 });
    expect(config.maxHoldMs).toBe(7_200_000);
  });

  it.each(["0", "-1", "abc", "NaN", "Infinity", "1e12", "0.0001"])("reject %j, naming the variable", (bad) => {
    for (const name of ["KEY_TTL_SECONDS", "BLOCK_TTL_SECONDS", "MAX_HOLD_SECONDS"]) {
      expect(() => parseConfig({ [name]: bad })).toThrow(ConfigError);
      expect(() => parseConfig({ [name]: bad })).toThrow(new RegExp(`^${name} must be a positive number`));
    }
  });
});

describe("access", () => {
  it("hashes every comma-separated token with its role, ignoring blanks and spaces", async () => {
    const config = parseConfig({ ADMIN_TOKEN: ` ${A} , ${B},`, CLIENT_TOKEN: C });
    expect(config.tokenCount).toBe(3);
    expect(await config.tokens).toEqual([
      { digest: await sha256(A), role: "admin" },
      { digest: await sha256(B), role: "admin" },
      { digest: await sha256(C), role: "client" },
    ]);
  });

  it("keeps no token in plain text", async () => {
    const config = parseConfig({ ADMIN_TOKEN: A, CLIENT_TOKEN: C });
    const kept = JSON.stringify({ ...config, tokens: await config.tokens }, (_key, value) =>
      value instanceof Uint8Array ? Array.from(value) : value,
    );
    expect(kept).not.toContain(A);
    expect(kept).not.toContain(C);
  });

  it("opens the local development mode only when asked and no token is set", () => {
    expect(parseConfig({}).localDevOpen).toBe(false);
    expect(parseConfig({ LOCAL_DEV_NO_AUTH: "true" }).localDevOpen).toBe(true);
    expect(parseConfig({ LOCAL_DEV_NO_AUTH: "1" }).localDevOpen).toBe(false);
    expect(parseConfig({ LOCAL_DEV_NO_AUTH: "true", ADMIN_TOKEN: A }).localDevOpen).toBe(false);
    expect(parseConfig({ LOCAL_DEV_NO_AUTH: "true", CLIENT_TOKEN: C }).localDevOpen).toBe(false);
  });

  it("reads the rate limit period, 60 s by default", () => {
    expect(parseConfig({}).rateLimitPeriodSeconds).toBe(60);
    expect(parseConfig({ RATE_LIMIT_PERIOD_SECONDS: "10" }).rateLimitPeriodSeconds).toBe(10);
  });

  it.each(["0", "30", "abc", "-60"])("rejects RATE_LIMIT_PERIOD_SECONDS=%j, naming it", (bad) => {
    expect(() => parseConfig({ RATE_LIMIT_PERIOD_SECONDS: bad })).toThrow(/RATE_LIMIT_PERIOD_SECONDS/);
  });

  it("reads the rate limit's requests per period, 300 by default", () => {
    expect(parseConfig({}).rateLimitRequests).toBe(300);
    expect(parseConfig({ RATE_LIMIT_REQUESTS: "50" }).rateLimitRequests).toBe(50);
  });

  it.each(["0", "1.5", "abc", "-3", "1e3"])("rejects RATE_LIMIT_REQUESTS=%j, naming it", (bad) => {
    expect(() => parseConfig({ RATE_LIMIT_REQUESTS: bad })).toThrow(/RATE_LIMIT_REQUESTS/);
  });

  it.each([
    ["too short", "short-token"],
    ["too long", "x".repeat(513)],
    ["with a space", "has a space in the middle"],
    ["with a quote", 'quote"in-the-token-here'],
  ])("rejects a token %s, naming the variable but not the token", (_why, bad) => {
    for (const name of ["ADMIN_TOKEN", "CLIENT_TOKEN"]) {
      const error = thrownBy(() => parseConfig({ [name]: `${A.replace("admin", "other")},${bad}` }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`${name} token 2 of 2`);
      expect(error.message).not.toContain(bad);
    }
  });

  it("rejects a token that is both admin and client", () => {
    expect(() => parseConfig({ ADMIN_TOKEN: `${A},${B}`, CLIENT_TOKEN: `${C},${B}` })).toThrow(
      /both ADMIN_TOKEN and CLIENT_TOKEN/,
    );
  });
});

describe("configOf", () => {
  it("parses an env once and answers the same configuration after that", () => {
    const env = { KEY_TTL_SECONDS: "2" };
    const first = configOf(env);
    env.KEY_TTL_SECONDS = "abc"; // not read again
    expect(configOf(env)).toBe(first);
    expect(configOf({ KEY_TTL_SECONDS: "2" })).not.toBe(first);
  });
});

describe("encryption keys (KEY_ENCRYPTION_KEY)", () => {
  const key = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
  const fingerprintOfText = async (text: string) =>
    Array.from(
      new Uint8Array(
        await crypto.subtle.digest(
          "SHA-256",
          Uint8Array.from(atob(text), (char) => char.charCodeAt(0)),
        ),
      ).subarray(0, 4),
      (byte) => byte.toString(16).padStart(2, "0"),
    ).join("");

  it("seal under the first and open under every one, each known by its fingerprint", async () => {
    const [first, second] = [key(), key()];
    const keys = await parseConfig({ KEY_ENCRYPTION_KEY: ` ${first}, ${second} ,` }).valueKeys;
    expect(keys.sealing?.fingerprint).toBe(await fingerprintOfText(first));
    expect([...keys.byFingerprint.keys()]).toEqual([await fingerprintOfText(first), await fingerprintOfText(second)]);
    expect(keys.sealing?.local).toBe(false);
  });

  it("are none unless configured, outside the local development scripts", async () => {
    const keys = await parseConfig({ ADMIN_TOKEN: A }).valueKeys;
    expect(keys.sealing).toBeNull();
    expect(keys.byFingerprint.size).toBe(0);
  });

  it("under the local development scripts: the published development key seals when none is set, and opens always", async () => {
    const alone = await parseConfig({ LOCAL_DEV_NO_AUTH: "true" }).valueKeys;
    expect(alone.sealing?.local).toBe(true);
    const real = key();
    const withReal = await parseConfig({ LOCAL_DEV_NO_AUTH: "true", KEY_ENCRYPTION_KEY: real }).valueKeys;
    expect(withReal.sealing).toMatchObject({ local: false, fingerprint: await fingerprintOfText(real) });
    expect(withReal.byFingerprint.has(alone.sealing?.fingerprint as string)).toBe(true);
    // The same development key with tokens configured too: it is the scripts' variable that enables it.
    const withTokens = await parseConfig({ LOCAL_DEV_NO_AUTH: "true", ADMIN_TOKEN: A }).valueKeys;
    expect(withTokens.sealing?.fingerprint).toBe(alone.sealing?.fingerprint);
  });

  it.each([
    ["not base64", "not*base64!"],
    ["16 bytes", btoa("0123456789abcdef")],
    ["33 bytes", btoa("0123456789abcdef0123456789abcdefX")],
  ])("refuse %s, naming the position and never the value", (_what, bad) => {
    const good = key();
    const error = thrownBy(() => parseConfig({ KEY_ENCRYPTION_KEY: `${good},${bad}` }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^KEY_ENCRYPTION_KEY key 2 of 2 must be 32 bytes in base64/);
    expect(error.message).not.toContain(bad);
    expect(error.message).not.toContain(good);
  });

  it("refuse the same key twice", () => {
    const same = key();
    expect(() => parseConfig({ KEY_ENCRYPTION_KEY: `${same},${key()},${same}` })).toThrow(
      "KEY_ENCRYPTION_KEY key 3 of 3 is the same as key 1",
    );
  });
});
