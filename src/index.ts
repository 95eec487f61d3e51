import { buildRouter } from "./http/router";

export { KeyPool } from "./key-pool";
export { PoolDirectory } from "./pool-directory";

const router = buildRouter();

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
