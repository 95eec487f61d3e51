/**
 * Adds `.openapi()` to zod before src/http/schemas.ts declares the API's shapes. In production
 * chanfana does this when it is imported; the itty-router + zod variant has no chanfana, so it
 * imports this module first.
 */
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);
