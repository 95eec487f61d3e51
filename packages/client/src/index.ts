/**
 * KeyPool's client (`@keypool/client`): import everything from this module. It depends on nothing
 * but `fetch`; its types are checked against the server's own schemas.
 */
export {
  type AcquireOptions,
  type AssignOptions,
  type CallOptions,
  type CreateOptions,
  type HolderOptions,
  type KeyedCall,
  KeyPoolClient,
  type KeyPoolClientOptions,
  type WithKeyOptions,
} from "./client.js";
export { KeyPoolError } from "./errors.js";
export { Lease, LeaseLostEvent, type LeaseOptions, type LeaseReportOptions, type LeaseState } from "./lease.js";
export type { RateLimitInfo } from "./rate-limit.js";
export type { RetryPolicy } from "./retry.js";
export type { Timers } from "./timers.js";
export type { FetchFunction } from "./transport.js";
export type * from "./types.js";
export { outcomeOf, reportOf, type UpstreamReport, waitOf } from "./upstream.js";
