/**
 * Bundle-time stand-in for `hono/http-exception`, which chanfana's Hono adapter imports lazily.
 * KeyPool only uses chanfana's itty-router adapter, so this module is never loaded; aliasing it
 * (wrangler.toml `[alias]`) keeps Hono out of the bundle.
 */
export class HTTPException extends Error {}
