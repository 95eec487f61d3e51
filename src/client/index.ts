/**
 * KeyPool's client: import everything from this module (`src/client`). It depends on nothing but
 * `fetch`; its types come from the server's own schemas.
 */
export {
  type AcquireOptions,
  type AssignOptions,
  type CallOptions,
  type HolderOptions,
  KeyPoolClient,
  type KeyPoolClientOptions,
} from "./client";
export { KeyPoolError } from "./errors";
export { Lease, LeaseLostEvent, type LeaseOptions, type LeaseState } from "./lease";
export type { RetryPolicy } from "./retry";
export type { Timers } from "./timers";
export type { FetchFunction } from "./transport";
export type * from "./types";
