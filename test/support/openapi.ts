/** Reading the served OpenAPI document the way a generated client does: references followed. */

/** `node`, or what it refers to when it is a `{"$ref": "#/..."}` into `doc`. */
export function resolved(doc: any, node: any): any {
  if (node === null || typeof node !== "object" || typeof node.$ref !== "string") return node;
  const target = node.$ref
    .replace(/^#\//, "")
    .split("/")
    .reduce((at: any, part: string) => at?.[part], doc);
  return resolved(doc, target);
}

/** An operation's answer for `status`, its reference followed (shared answers are components). */
export function responseOf(doc: any, operation: any, status: number | string): any {
  return resolved(doc, operation?.responses?.[String(status)]);
}
