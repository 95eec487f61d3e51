/**
 * The client's request and answer shapes, inferred from the very zod schemas the server validates
 * with and publishes in /openapi.json, so they cannot drift apart. Type-only imports: nothing of zod
 * or the server reaches the client's bundle.
 */
import type { z } from "zod";
import type * as pools from "../http/pool-schemas";
import type * as api from "../http/schemas";

export type Created = z.infer<typeof api.Created>;
export type CreatedMany = z.infer<typeof api.CreatedMany>;
export type Assignment = z.infer<typeof api.Assignment>;
export type KeyValue = z.infer<typeof api.KeyValue>;
export type KeyInfo = z.infer<typeof api.KeyInfo>;
export type BlockResult = z.infer<typeof api.BlockResult>;
export type Deleted = z.infer<typeof api.Deleted>;
export type UpdateBody = z.input<typeof api.UpdateBody>;
export type CreateBody = z.input<typeof api.CreateBody>;
export type ErrorBody = z.infer<typeof api.ErrorBody>;
export type PoolStats = z.infer<typeof pools.PoolStatsBody>;
export type PoolSettings = z.infer<typeof pools.Settings>;
export type SettingsPatch = z.input<typeof pools.SettingsBody>;
export type ListQuery = Partial<z.output<typeof pools.ListQuery>>; // sent as text, read as these types
export type KeyPage = z.infer<typeof pools.KeyPageBody>;
