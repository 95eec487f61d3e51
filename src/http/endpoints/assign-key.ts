import { contentJson } from "chanfana";
import { errorResponses, PoolRoute, unwrap } from "../route";
import { Assignment } from "../schemas";

export class AssignKey extends PoolRoute {
  override schema = {
    operationId: "assignKey",
    tags: ["Keys"],
    summary: "Get a free key, chosen uniformly at random, and block it for everyone else",
    description:
      "The key stays blocked until it is unblocked (with its lease) or BLOCK_TTL_SECONDS pass. " +
      "`lease` is the fencing number that proves you hold it.",
    responses: {
      "200": { description: "The key, now blocked for the caller", ...contentJson(Assignment) },
      ...errorResponses(404),
    },
  };

  override async handle() {
    return unwrap(await (await this.pool()).assign());
  }
}
