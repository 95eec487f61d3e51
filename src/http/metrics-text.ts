import type { EncryptionStatus } from "../pool/encryption";
import type { Counter } from "../pool/events";
import type { PoolStats } from "../pool/views";

/**
 * Pools' numbers in the Prometheus text exposition format (version 0.0.4), for `GET /pools/{pool}/metrics`
 * and `GET /metrics`. Pure: statistics in, text out; no I/O, no clock (no sample carries a timestamp:
 * Prometheus stamps a scrape itself).
 */

/** What a scrape answers with, exactly as the format asks. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The parts of a pool's statistics (`GET /pools/{pool}`) a scrape shows. */
export type ScrapedStats = Pick<PoolStats, "keys" | "counters" | "waiting"> & {
  readonly encryption: Pick<EncryptionStatus, "toReseal" | "unavailable">;
};

/** A pool as a scrape sees it: its statistics, or null when its object did not answer. */
export interface ScrapedPool {
  readonly pool: string;
  readonly stats: ScrapedStats | null;
}

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [labels: Labels, value: number];

interface Family {
  readonly name: string;
  readonly type: "gauge" | "counter";
  readonly help: string;
  /** The family's samples for one pool, each with its labels besides `pool`. */
  readonly samples: (stats: ScrapedStats) => readonly Sample[];
}

const KEY_STATES = ["free", "blocked", "cooling", "disabled"] as const;

/**
 * The counter each of the pool's counters is a sample of, and its labels: typed by `Counter`, so a
 * counter the pool gains is a compile error here until it is exported.
 */
const COUNTER_SAMPLES: Record<Counter, { readonly family: CounterName; readonly labels: Labels }> = {
  created: { family: "keypool_keys_created_total", labels: {} },
  assigned: { family: "keypool_assignments_total", labels: {} },
  released: { family: "keypool_releases_total", labels: {} },
  expired: { family: "keypool_keys_expired_total", labels: {} },
  deleted: { family: "keypool_keys_deleted_total", labels: {} },
  cooled: { family: "keypool_cooldowns_total", labels: {} },
  disabled: { family: "keypool_keys_disabled_total", labels: {} },
  reportedOk: { family: "keypool_reports_total", labels: { outcome: "ok" } },
  reportedRateLimited: { family: "keypool_reports_total", labels: { outcome: "rate_limited" } },
  reportedUnauthorized: { family: "keypool_reports_total", labels: { outcome: "unauthorized" } },
  reportedError: { family: "keypool_reports_total", labels: { outcome: "error" } },
};

const COUNTER_HELP = {
  keypool_keys_created_total: "Keys created or imported since the pool began.",
  keypool_assignments_total: "Keys assigned by GET /keys since the pool began.",
  keypool_releases_total: "Blocks released automatically (their time ran out) since the pool began.",
  keypool_keys_expired_total: "Keys expired (not kept alive) since the pool began.",
  keypool_keys_deleted_total: "Keys deleted by DELETE /keys/{id} since the pool began.",
  keypool_cooldowns_total: "Cooldowns started or extended by outcome reports since the pool began.",
  keypool_keys_disabled_total: "Keys disabled, by a report or an admin, since the pool began.",
  keypool_reports_total: "Outcome reports (POST /keys/{id}/report) since the pool began, by outcome.",
} as const;
type CounterName = keyof typeof COUNTER_HELP;

const one = (value: number): readonly Sample[] => [[{}, value]];

/** Every family a pool contributes, in the order a scrape lists them. */
const POOL_FAMILIES: readonly Family[] = [
  {
    name: "keypool_keys",
    type: "gauge",
    help: "Keys in the pool now, by state (free, blocked, cooling, disabled).",
    samples: (stats) => KEY_STATES.map((state) => [{ state }, stats.keys[state]] as const),
  },
  {
    name: "keypool_waiting_callers",
    type: "gauge",
    help: "Callers waiting for a key now (GET /keys?waitSeconds).",
    samples: (stats) => one(stats.waiting),
  },
  {
    name: "keypool_reseal_backlog",
    type: "gauge",
    help: "Stored values the alarm is still to seal under the sealing key after a rotation; 0 when done.",
    samples: (stats) => one(stats.encryption.toReseal),
  },
  {
    name: "keypool_values_unavailable",
    type: "gauge",
    help: "Stored values sealed under encryption keys no longer configured: they answer 503 until the key is back.",
    samples: (stats) => one(stats.encryption.unavailable),
  },
  ...(Object.keys(COUNTER_HELP) as CounterName[]).map(
    (name): Family => ({
      name,
      type: "counter",
      help: COUNTER_HELP[name],
      samples: (stats) =>
        (Object.keys(COUNTER_SAMPLES) as Counter[])
          .filter((counter) => COUNTER_SAMPLES[counter].family === name)
          .map((counter) => [COUNTER_SAMPLES[counter].labels, stats.counters[counter]] as const),
    }),
  ),
];

const UP = {
  name: "keypool_pool_up",
  help: "1 when the pool's object answered this scrape; 0 when it did not, and its other series are left out.",
} as const;

const TRUNCATED = {
  name: "keypool_directory_truncated",
  help: "1 when more pools follow this scrape's page (scrape again with ?cursor= from the keypool_next_cursor comment).",
} as const;

/**
 * What every text `metricsText` makes looks like, line by line: a comment (`# HELP`, `# TYPE`, the next
 * cursor) or a sample of a `keypool_` family, each line ending in a line feed. The document states it.
 */
export const METRICS_TEXT_PATTERN = /^(?:(?:# [^\n]*|keypool_[a-z_]+(?:\{[^\n]*\})? [^ \n]+)\n)*$/;

/** The comment that carries the next page's cursor: a comment, so every parser skips it. */
export const NEXT_CURSOR_COMMENT = "# keypool_next_cursor";

/**
 * The metrics of `pools`, every family with its `# HELP` and `# TYPE` and all its samples together, as
 * the format requires; a pool whose statistics are null has only `keypool_pool_up 0`. With `page` (a
 * scrape of the directory), `keypool_directory_truncated` says whether more pools follow, and the
 * next page's cursor closes the text as a comment.
 */
export function metricsText(pools: readonly ScrapedPool[], page?: { readonly next: string | null }): string {
  const lines: string[] = [];
  // Each pool's label once per scrape, not once per sample: a scrape of 1,000 pools has ~19,000 samples.
  const labelled = pools.map(({ pool, stats }) => ({ label: labelsText({ pool }), stats }));
  family(lines, UP.name, "gauge", UP.help);
  for (const { label, stats } of labelled) lines.push(sample(UP.name, label, stats === null ? 0 : 1));
  for (const { name, type, help, samples } of POOL_FAMILIES) {
    family(lines, name, type, help);
    for (const { label, stats } of labelled) {
      if (stats === null) continue;
      for (const [labels, value] of samples(stats)) lines.push(sample(name, label + labelsText(labels, ","), value));
    }
  }
  if (page !== undefined) {
    family(lines, TRUNCATED.name, "gauge", TRUNCATED.help);
    lines.push(sample(TRUNCATED.name, "", page.next === null ? 0 : 1));
    if (page.next !== null) lines.push(`${NEXT_CURSOR_COMMENT} ${page.next}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The longest text `metricsText` makes for `pools` pools whose names are at most `maxNameLength`
 * characters of the pool-name alphabet (which needs no escaping) and whose numbers are below 2^53;
 * with a page whose cursor is at most `maxCursorLength` characters, or none when null. The text grows
 * by the same length per pool, measured on a pool with every number at its longest.
 */
export function maxMetricsLength(pools: number, maxNameLength: number, maxCursorLength: number | null): number {
  const page = maxCursorLength === null ? undefined : { next: "c".repeat(maxCursorLength) };
  const none = metricsText([], page).length;
  const perPool = metricsText([{ pool: "a".repeat(maxNameLength), stats: LONGEST_STATS }], page).length - none;
  return none + pools * perPool;
}

const LONGEST = Number.MAX_SAFE_INTEGER;
const LONGEST_STATS: ScrapedStats = {
  keys: { total: LONGEST, free: LONGEST, blocked: LONGEST, cooling: LONGEST, disabled: LONGEST },
  counters: Object.fromEntries(Object.keys(COUNTER_SAMPLES).map((counter) => [counter, LONGEST])) as Record<
    Counter,
    number
  >,
  waiting: LONGEST,
  encryption: { toReseal: LONGEST, unavailable: LONGEST },
};

function family(lines: string[], name: string, type: "gauge" | "counter", help: string): void {
  lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
}

/** A sample line; `labels` is the text inside the braces (none when empty). */
function sample(name: string, labels: string, value: number): string {
  return `${name}${labels === "" ? "" : `{${labels}}`} ${formatValue(value)}`;
}

/** `name="value",...` for `labels`, each value escaped; `before` goes first when there is any. */
function labelsText(labels: Labels, before = ""): string {
  let text = "";
  for (const label in labels)
    text += `${text === "" ? before : ","}${label}="${escapeLabelValue(labels[label] ?? "")}"`;
  return text;
}

/** A label value as the format writes it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A HELP text as the format writes it: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** A sample value: a Go float literal, with the format's spellings of the special values. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
