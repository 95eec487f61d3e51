import { configOf } from "../config";
import { servesWithoutToken } from "./auth";

/**
 * What `GET /` answers: where a person goes next. Public, like the API's description; `localMode`
 * tells the dashboard (and a curious reader) that this server serves requests without a token, which
 * only `npm start` on a loopback host does.
 */
export function home(env: Env, url: URL) {
  return {
    name: "KeyPool",
    about: "A pool of API keys: create keys, get a free one assigned and blocked for you, keep it alive, release it.",
    links: { docs: "/docs", dashboard: "/dashboard", openapi: "/openapi.json", openapiYaml: "/openapi.yaml" },
    localMode: servesWithoutToken(configOf(env), url),
  };
}
