import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { api, CLIENT_TOKENS, removeDir, TOKEN_VARS, tempDir } from "./client";
import { type DevServer, startDevServer } from "./server";

const PORTS: [number, number] = [9800, 9849];
const dir = tempDir();
let server: DevServer | undefined;

afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

/**
 * The SQLite databases `wrangler dev` keeps for KeyPool objects: one per object ever started, named by
 * its id (miniflare's own `metadata.sqlite` beside them is not an object's).
 */
function poolDatabases(): string[] {
  const files: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(path, entry.name));
      else if (path.endsWith("-KeyPool") && /^[0-9a-f]{64}\.sqlite$/.test(entry.name)) files.push(entry.name);
    }
  };
  walk(dir);
  return files;
}

it("leaves no database behind for requests on pools nobody made, whatever a client asks", async () => {
  server = await startDevServer(PORTS, TOKEN_VARS, dir);
  const token = CLIENT_TOKENS[0];
  for (let i = 0; i < 10; i++) {
    const pool = `made-up-${i}-${Date.now()}`;
    const id = crypto.randomUUID();
    for (const [method, path, json] of [
      ["GET", `/pools/${pool}/keys`],
      ["GET", `/pools/${pool}/keys/${id}`],
      ["GET", `/pools/${pool}/keys/${id}/info`],
      ["PUT", `/pools/${pool}/keys/${id}/alive`],
      ["PUT", `/pools/${pool}/keys/${id}`, { blocked: false, lease: 1 }],
    ] as const) {
      const answer = await api(server.origin, method, path, { token, json });
      expect(answer, `${method} ${path}`).toMatchObject({ status: 404, body: { error: "No such pool" } });
    }
  }
  expect(poolDatabases()).toEqual([]);
  // An admin makes a pool: now there is one.
  expect((await api(server.origin, "POST", "/pools/made/keys")).status).toBe(201);
  expect(poolDatabases()).toHaveLength(1);
});
