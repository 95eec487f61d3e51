import { describe, expect, it } from "vitest";
import { parseAccess, sha256 } from "../../src/http/access-config";
import { ConfigError } from "../../src/pool/config";

const A = "admin-token-0123456789";
const B = "admin-token-abcdefghij";
const C = "client-token-0123456789";

describe("access configuration", () => {
  it("hashes every comma-separated token with its role, ignoring blanks and spaces", async () => {
    const config = await parseAccess({ ADMIN_TOKEN: ` ${A} , ${B},`, CLIENT_TOKEN: C });
    expect(config.tokens).toEqual([
      { digest: await sha256(A), role: "admin" },
      { digest: await sha256(B), role: "admin" },
      { digest: await sha256(C), role: "client" },
    ]);
  });

  it("keeps no token in plain text", async () => {
    const config = await parseAccess({ ADMIN_TOKEN: A, CLIENT_TOKEN: C });
    expect(JSON.stringify(config)).not.toContain(A);
    expect(JSON.stringify(config)).not.toContain(C);
  });

  it("opens the local development mode only when asked and no token is set", async () => {
    expect((await parseAccess({})).localDevOpen).toBe(false);
    expect((await parseAccess({ LOCAL_DEV_NO_AUTH: "true" })).localDevOpen).toBe(true);
    expect((await parseAccess({ LOCAL_DEV_NO_AUTH: "1" })).localDevOpen).toBe(false);
    expect((await parseAccess({ LOCAL_DEV_NO_AUTH: "true", ADMIN_TOKEN: A })).localDevOpen).toBe(false);
    expect((await parseAccess({ LOCAL_DEV_NO_AUTH: "true", CLIENT_TOKEN: C })).localDevOpen).toBe(false);
  });

  it("reads the rate limit period, 60 s by default", async () => {
    expect((await parseAccess({})).rateLimitPeriodSeconds).toBe(60);
    expect((await parseAccess({ RATE_LIMIT_PERIOD_SECONDS: "10" })).rateLimitPeriodSeconds).toBe(10);
  });

  it.each(["0", "30", "abc", "-60"])("rejects RATE_LIMIT_PERIOD_SECONDS=%j, naming it", async (bad) => {
    await expect(parseAccess({ RATE_LIMIT_PERIOD_SECONDS: bad })).rejects.toThrow(/RATE_LIMIT_PERIOD_SECONDS/);
  });

  it.each([
    ["too short", "short-token"],
    ["too long", "x".repeat(513)],
    ["with a space", "has a space in the middle"],
    ["with a quote", 'quote"in-the-token-here'],
  ])("rejects a token %s, naming the variable but not the token", async (_why, bad) => {
    for (const name of ["ADMIN_TOKEN", "CLIENT_TOKEN"]) {
      const error = await parseAccess({ [name]: `${A.replace("admin", "other")},${bad}` }).catch((e) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(`${name} token 2 of 2`);
      expect(error.message).not.toContain(bad);
    }
  });

  it("rejects a token that is both admin and client", async () => {
    await expect(parseAccess({ ADMIN_TOKEN: `${A},${B}`, CLIENT_TOKEN: `${C},${B}` })).rejects.toThrow(
      /both ADMIN_TOKEN and CLIENT_TOKEN/,
    );
  });
});
