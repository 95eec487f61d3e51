/**
 * wrangler's `[build]` step: copies Swagger UI from the swagger-ui-dist package into the static
 * assets (public/docs/swagger-ui/, not committed), so /docs loads nothing from another host. Runs
 * before every `wrangler dev` and `wrangler deploy`. Each file is written beside its target and
 * renamed over it, so builds running side by side (the bench builds several Workers at once) never
 * see a half-written file.
 */
import { copyFileSync, mkdirSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt", "LICENSE", "NOTICE"];

const source = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const target = join(dirname(fileURLToPath(import.meta.url)), "..", "public", "docs", "swagger-ui");
mkdirSync(target, { recursive: true });
for (const file of FILES) {
  const partial = join(target, `.${file}.${process.pid}`);
  copyFileSync(join(source, file), partial);
  renameSync(partial, join(target, file));
}
