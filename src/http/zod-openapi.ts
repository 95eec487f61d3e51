/**
 * Adds `.openapi()` to zod's schemas (and types), for @asteasolutions/zod-to-openapi. schemas.ts and
 * pool-schemas.ts import this module, so the method exists before the first schema is declared,
 * whichever module loads first.
 */
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import * as z from "zod";

// It patches `ZodType.prototype` and reads nothing else. Handing it zod's namespace object would make
// the bundler keep all of zod, its 40-odd locales too: about 600 KiB more in the Worker's bundle.
// Every module imports zod as `import * as z from "zod"` for the same reason.
extendZodWithOpenApi({ ZodType: z.ZodType } as typeof z);
