import { readFileSync } from "node:fs";

/** A fenced code block of a Markdown file: its info string (language, then words), its text, where. */
export interface CodeBlock {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly words: readonly string[];
  readonly code: string;
}

/** Every ``` fenced block of `file` (relative to the repository), in order. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i] ?? "");
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ""); i++) body.push(lines[i] ?? "");
    const words = (open[2] ?? "").trim().split(/\s+/).filter(Boolean);
    blocks.push({ file, line: start + 1, lang: open[1] ?? "", words, code: body.join("\n") });
  }
  return blocks;
}
