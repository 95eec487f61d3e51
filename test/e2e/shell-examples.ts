import type { CodeBlock } from "./markdown";

/**
 * The shell examples of the docs, as runnable commands with what each line's comment says it
 * answers. Pure: parsing and comparing, no running.
 */

/** One command of an example (continued lines joined), and the comment that follows it, if any. */
export interface Command {
  readonly text: string;
  readonly comment: string | undefined;
  readonly where: string;
}

/** Shell blocks run by the examples test; `no-run` in the info string marks one that cannot run here. */
export function isShell(block: CodeBlock): boolean {
  return ["sh", "bash", "shell", "console"].includes(block.lang);
}

export function isRunnable(block: CodeBlock): boolean {
  return isShell(block) && !block.words.includes("no-run");
}

/** The block's commands, in order. A line ending in `\` continues on the next one. */
export function commandsOf(block: CodeBlock): Command[] {
  const commands: Command[] = [];
  const lines = block.code.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? "";
    while (line.trimEnd().endsWith("\\") && i + 1 < lines.length) {
      line = `${line.trimEnd().slice(0, -1)} ${(lines[++i] ?? "").trim()}`;
    }
    const [text, comment] = splitComment(line);
    if (text.trim() === "") continue;
    commands.push({ text: text.trim(), comment, where: `${block.file}:${block.line + start + 1}` });
  }
  return commands;
}

/** A line's command and its comment: the first `#` after a blank, outside quotes. */
function splitComment(line: string): [string, string | undefined] {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"') i++;
    } else if (char === "'" || char === '"') quote = char;
    else if (char === "#" && (i === 0 || /\s/.test(line[i - 1] ?? ""))) {
      return [line.slice(0, i), line.slice(i + 1).trim()];
    }
  }
  return [line, undefined];
}

/**
 * What a comment promises. One that starts with JSON is the answer's shape: `…` stands for any text
 * inside a string, or any members outside one; anything after the JSON is prose. Any other comment
 * promises an answer that is not an error.
 */
export function expectation(comment: string | undefined): { shape: RegExp } | { noError: true } {
  const json = comment === undefined ? undefined : jsonPrefix(comment);
  if (json === undefined) return { noError: true };
  let pattern = "";
  let inString = false;
  for (const char of json) {
    if (char === '"') inString = !inString;
    if (char === "…") pattern += inString ? '(?:[^"\\\\]|\\\\.)*' : ".*";
    else pattern += char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return { shape: new RegExp(`^${pattern}$`) };
}

/** The comment's leading JSON value (balanced brackets), if it starts with one. */
function jsonPrefix(comment: string): string | undefined {
  if (!comment.startsWith("{") && !comment.startsWith("[")) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < comment.length; i++) {
    const char = comment[i];
    if (char === '"') inString = !inString;
    else if (inString) continue;
    else if (char === "{" || char === "[") depth++;
    else if (char === "}" || char === "]") {
      depth--;
      if (depth === 0) return comment.slice(0, i + 1);
    }
  }
  return undefined;
}

/** A bash script that runs `commands` in order and marks where each one's output ends, with its exit status. */
export function scriptOf(commands: readonly Command[]): string {
  return commands.map((command, index) => `${command.text}\nprintf '\\n@@ %d %d\\n' ${index} "$?"`).join("\n");
}

/** Each command's output and exit status, from the script's output. */
export function outputsOf(stdout: string): Map<number, { output: string; status: number }> {
  const outputs = new Map<number, { output: string; status: number }>();
  let rest = stdout;
  for (;;) {
    const marker = /\n@@ (\d+) (\d+)\n/.exec(rest);
    if (marker === null) return outputs;
    outputs.set(Number(marker[1]), { output: rest.slice(0, marker.index).trim(), status: Number(marker[2]) });
    rest = rest.slice(marker.index + marker[0].length);
  }
}
