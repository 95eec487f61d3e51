import { buildRouter } from "./http/router";

export { KeyPool } from "./key-pool";

const router = buildRouter();

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
