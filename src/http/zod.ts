/**
 * zod with `.openapi()`. @asteasolutions/zod-to-openapi adds that method to zod's schemas (and to its
 * types) when `extendZodWithOpenApi` runs, so every module that declares the API's shapes takes `z`
 * from here: the method then exists before the first schema is declared, whichever module loads first.
 */
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);

export { z };
