import { expect, it } from "vitest";
import { call } from "../support/http";

// The generated document, committed: every change to the API shows up in review as a diff of this file.
// After a deliberate change, `npx vitest run test/api/openapi-snapshot -u` rewrites it.
it("serves exactly the committed OpenAPI document", async () => {
  const reply = await call("GET", "/openapi.json", { token: null });
  expect(reply.status).toBe(200);
  await expect(`${JSON.stringify(reply.body, null, 2)}\n`).toMatchFileSnapshot("../../docs/openapi.json");
});
