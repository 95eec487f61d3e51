/**
 * Checked by `npm run check` (tsc), not run: the client's hand-written types are exactly what the
 * server's zod schemas infer, so the published .d.ts cannot drift from the API. A mismatch fails to
 * compile at the line that names it.
 */
import type * as z from "zod";
import type * as client from "../../packages/client/src/types.js";
import type * as audit from "../../src/http/audit-schemas";
import type * as directory from "../../src/http/directory-schemas";
import type * as pools from "../../src/http/pool-schemas";
import type * as api from "../../src/http/schemas";

/** Each of two types is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

type Agreement = {
  Created: Same<client.Created, z.infer<typeof api.Created>>;
  CreatedMany: Same<client.CreatedMany, z.infer<typeof api.CreatedMany>>;
  Assignment: Same<client.Assignment, z.infer<typeof api.Assignment>>;
  KeyValue: Same<client.KeyValue, z.infer<typeof api.KeyValue>>;
  KeyInfo: Same<client.KeyInfo, z.infer<typeof api.KeyInfo>>;
  KeySource: Same<client.KeySource, z.infer<typeof api.KeyInfo>["source"]>;
  BlockResult: Same<client.BlockResult, z.infer<typeof api.BlockResult>>;
  Deleted: Same<client.Deleted, z.infer<typeof api.Deleted>>;
  KeyState: Same<client.KeyState, z.infer<typeof api.KeyInfo>["state"]>;
  ReportOutcome: Same<client.ReportOutcome, z.infer<typeof api.ReportBody>["outcome"]>;
  UpdateBody: Same<client.UpdateBody, z.input<typeof api.UpdateBody>>;
  ReportBody: Same<client.ReportBody, z.input<typeof api.ReportBody>>;
  CreateBody: Same<client.CreateBody, z.input<typeof api.CreateBody>>;
  ImportEntry: Same<client.ImportEntry, z.input<typeof api.ImportEntry>>;
  ErrorBody: Same<client.ErrorBody, z.infer<typeof api.ErrorBody>>;
  Problem: Same<client.Problem, z.infer<typeof api.Problem>>;
  PoolStats: Same<client.PoolStats, z.infer<typeof pools.PoolStatsBody>>;
  // The server's encryption schema is not exported on its own: read it from the answer that holds it.
  EncryptionStatus: Same<client.EncryptionStatus, z.infer<typeof pools.PoolStatsBody>["encryption"]>;
  SealedValues: Same<client.SealedValues, z.infer<typeof pools.PoolStatsBody>["encryption"]["values"][number]>;
  PoolSettings: Same<client.PoolSettings, z.infer<typeof pools.Settings>>;
  SettingsPatch: Same<client.SettingsPatch, z.input<typeof pools.SettingsBody>>;
  ListQuery: Same<client.ListQuery, Partial<z.output<typeof pools.ListQuery>>>;
  ListedKey: Same<client.ListedKey, z.infer<typeof api.ListedKey>>;
  KeyPage: Same<client.KeyPage, z.infer<typeof pools.KeyPageBody>>;
  AuditEntry: Same<client.AuditEntry, z.infer<typeof audit.AuditEntryBody>>;
  AuditPage: Same<client.AuditPage, z.infer<typeof audit.AuditPageBody>>;
  AuditQuery: Same<client.AuditQuery, Partial<z.output<typeof audit.AuditQuery>>>;
  PoolPage: Same<client.PoolPage, z.infer<typeof directory.PoolPageBody>>;
  ListedPool: Same<client.ListedPool, z.infer<typeof directory.PoolPageBody>["pools"][number]>;
  PoolListQuery: Same<client.PoolListQuery, Partial<z.output<typeof directory.PoolListQuery>>>;
  MetricsQuery: Same<client.PoolListQuery, Partial<z.output<typeof directory.MetricsQuery>>>;
};

/** Compiles only when every entry of Agreement is `true`. */
export const agreement: { [Name in keyof Agreement]: Agreement[Name] extends true ? true : never } = {
  Created: true,
  CreatedMany: true,
  Assignment: true,
  KeyValue: true,
  KeyInfo: true,
  KeySource: true,
  BlockResult: true,
  Deleted: true,
  KeyState: true,
  ReportOutcome: true,
  UpdateBody: true,
  ReportBody: true,
  CreateBody: true,
  ImportEntry: true,
  ErrorBody: true,
  Problem: true,
  PoolStats: true,
  EncryptionStatus: true,
  SealedValues: true,
  PoolSettings: true,
  SettingsPatch: true,
  ListQuery: true,
  ListedKey: true,
  KeyPage: true,
  AuditEntry: true,
  AuditPage: true,
  AuditQuery: true,
  PoolPage: true,
  ListedPool: true,
  PoolListQuery: true,
  MetricsQuery: true,
};
