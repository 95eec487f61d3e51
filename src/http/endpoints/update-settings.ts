import { PoolParams, Settings, SettingsBody } from "../pool-schemas";
import { endpoint } from "../route";

export const UpdateSettings = endpoint({
  method: "put",
  path: "/pools/:pool/settings",
  operationId: "updatePoolSettings",
  tags: ["Pools"],
  summary: "Set a pool's key and block TTLs, who sees values, and whether keys expire",
  description:
    "Stored in the pool itself; other pools are unaffected. New TTLs apply to deadlines set from now on " +
    "(creations, keep-alives, blocks); deadlines already set do not move. keysExpire applies to every key at " +
    "once. null restores the default (the [vars] for TTLs), an absent field stays as it is.",
  // Operators only: it changes how long every future key and block lasts.
  access: "admin",
  request: { params: PoolParams, body: { schema: SettingsBody, required: true } },
  success: { status: 200, description: "The settings now in force", schema: Settings },
  refusals: [],

  async handle({ body }, call) {
    return call.poolToMake().updateSettings(body, await call.actor());
  },
});
