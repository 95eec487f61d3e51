import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { expect, it } from "vitest";

/** The README and the docs pages link each other by relative paths: none may point at nothing. */
const PAGES = [
  "README.md",
  "packages/client/README.md",
  ...readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

it.each(PAGES)("every relative link of %s points at a file that exists", (page) => {
  const text = readFileSync(page, "utf8");
  const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? "");
  for (const target of targets) {
    if (/^[a-z]+:/.test(target) || target.startsWith("#")) continue;
    const file = target.split("#")[0] ?? "";
    expect(existsSync(join(dirname(page), file)), `${page} -> ${target}`).toBe(true);
  }
});
