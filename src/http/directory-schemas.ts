import { MAX_DIRECTORY_PAGE } from "../pool-directory";
import {
  METRICS_CONTENT_TYPE,
  METRICS_TEXT_PATTERN,
  maxMetricsLength,
  metricsText,
  type ScrapedStats,
} from "./metrics-text";
import { Count, CURSOR_PATTERN, KeyCounts, MAX_CURSOR_LENGTH } from "./pool-schemas";
import { POOL_NAME_MAX_LENGTH, PoolName, queryNumber } from "./schemas";
import "./zod-openapi";
import * as z from "zod";

/** Shapes of the operations over every pool (`GET /pools`, the metrics), declared once as in schemas.ts. */

/** The most pools one page of `GET /pools` lists, and how many unless asked: each is one call to its object. */
export const MAX_POOL_PAGE = 100;
export const DEFAULT_POOL_PAGE = 50;

/** The most pools one scrape of `GET /metrics` shows (and how many unless asked): one call to each. */
export const MAX_SCRAPE_POOLS = MAX_DIRECTORY_PAGE;

function cursorOf(what: string) {
  return z
    .string()
    .max(MAX_CURSOR_LENGTH)
    .optional()
    .openapi({
      description: `The cursor ${what}; absent for the first page.`,
      pattern: CURSOR_PATTERN,
    });
}

export const PoolListQuery = z.strictObject({
  limit: queryNumber(z.number().int().min(1).max(MAX_POOL_PAGE))
    .default(DEFAULT_POOL_PAGE)
    .openapi({ description: "Pools per page; each pool listed is one call to its object.", format: "int32" }),
  cursor: cursorOf("of the previous page"),
});

const ListedPool = z
  .object({
    pool: PoolName,
    keys: KeyCounts.nullable().openapi({
      description:
        "The pool's keys by state, as GET /pools/{pool} shows them; null when its object did not answer (it failed, " +
        "or holds nothing: registered but never made).",
    }),
    waiting: Count.nullable().openapi({ description: "Callers waiting for a key now; null with `keys`." }),
  })
  .openapi("ListedPool");

export const PoolPageBody = z
  .object({
    pools: z.array(ListedPool).max(MAX_POOL_PAGE),
    cursor: z
      .string()
      .max(MAX_CURSOR_LENGTH)
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page; null after the last.", pattern: CURSOR_PATTERN }),
  })
  .openapi("PoolPage");

export const MetricsQuery = z.strictObject({
  limit: queryNumber(z.number().int().min(1).max(MAX_SCRAPE_POOLS))
    .default(MAX_SCRAPE_POOLS)
    .openapi({ description: "Pools in this scrape; each is one call to its object.", format: "int32" }),
  cursor: cursorOf("of the `# keypool_next_cursor` comment of the previous scrape"),
});

const EXAMPLE_STATS: ScrapedStats = {
  keys: { total: 3, free: 1, blocked: 1, cooling: 1, disabled: 0 },
  counters: {
    created: 3,
    assigned: 12,
    released: 2,
    expired: 0,
    deleted: 0,
    cooled: 1,
    disabled: 0,
    reportedOk: 9,
    reportedRateLimited: 1,
    reportedUnauthorized: 0,
    reportedError: 0,
  },
  waiting: 0,
  encryption: { toReseal: 0, unavailable: 0 },
};

/** The text of one pool (`GET /pools/{pool}/metrics`): its length bounded for the longest pool name. */
export const PoolMetricsText = z
  .string()
  .max(maxMetricsLength(1, POOL_NAME_MAX_LENGTH, null))
  .regex(METRICS_TEXT_PATTERN)
  .openapi({
    description: `Prometheus text exposition format 0.0.4 (${METRICS_CONTENT_TYPE}).`,
    example: metricsText([{ pool: "payments", stats: EXAMPLE_STATS }]),
  });

/** The text of a scrape of the directory (`GET /metrics`): at most MAX_SCRAPE_POOLS pools. */
export const MetricsText = z
  .string()
  .max(maxMetricsLength(MAX_SCRAPE_POOLS, POOL_NAME_MAX_LENGTH, MAX_CURSOR_LENGTH))
  .regex(METRICS_TEXT_PATTERN)
  .openapi({
    description:
      `Prometheus text exposition format 0.0.4 (${METRICS_CONTENT_TYPE}): every family of GET /pools/{pool}/metrics ` +
      "for each pool of the page, then keypool_directory_truncated, and the next page's cursor as a comment.",
    example: metricsText(
      [
        { pool: "payments", stats: EXAMPLE_STATS },
        { pool: "search", stats: null },
      ],
      { next: "cDpzZWFyY2g" },
    ),
  });
