import { contentJson } from "chanfana";
import type { Access } from "../access-openapi";
import { PoolParams, Settings, SettingsBody } from "../pool-schemas";
import { errorResponses, PoolRoute } from "../route";

export class UpdateSettings extends PoolRoute {
  // Operators only: it changes how long every future key and block lasts.
  protected override readonly access: Access = "admin";

  override schema = {
    operationId: "updatePoolSettings",
    tags: ["Pools"],
    summary: "Set a pool's key and block TTLs",
    description:
      "Stored in the pool itself; other pools are unaffected. New values apply to deadlines set from now on " +
      "(creations, keep-alives, blocks); deadlines already set do not move. null restores the [vars] default.",
    request: { params: PoolParams, body: { ...contentJson(SettingsBody), required: true } },
    responses: {
      "200": { description: "The settings now in force", ...contentJson(Settings) },
      ...errorResponses(413, 415),
    },
  };

  override async handle() {
    const { body } = await this.getValidatedData<typeof this.schema>();
    return (await this.pool()).updateSettings(body);
  }
}
