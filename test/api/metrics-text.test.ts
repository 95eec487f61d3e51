import { describe, expect, it } from "vitest";
import {
  escapeHelp,
  formatValue,
  METRICS_TEXT_PATTERN,
  maxMetricsLength,
  metricsText,
  NEXT_CURSOR_COMMENT,
  type ScrapedStats,
} from "../../src/http/metrics-text";
import { COUNTERS, type Counter } from "../../src/pool/events";
import { parseScrape, sampleValue } from "../support/prometheus";

/** Statistics with every number different, so a value in the wrong series cannot pass for the right one. */
function stats(base: number): ScrapedStats {
  const counters = Object.fromEntries(COUNTERS.map((counter, i) => [counter, base + 100 + i])) as Record<
    Counter,
    number
  >;
  return {
    keys: { total: base + 10, free: base + 1, blocked: base + 2, cooling: base + 3, disabled: base + 4 },
    counters,
    waiting: base + 5,
    encryption: { toReseal: base + 6, unavailable: base + 7 },
  };
}

/** Each series a pool has, written out here rather than derived from the module: family, type, labels, value. */
function expectedSeries(s: ScrapedStats): Array<[string, "gauge" | "counter", Record<string, string>, number]> {
  const c = s.counters;
  return [
    ["keypool_pool_up", "gauge", {}, 1],
    ["keypool_keys", "gauge", { state: "free" }, s.keys.free],
    ["keypool_keys", "gauge", { state: "blocked" }, s.keys.blocked],
    ["keypool_keys", "gauge", { state: "cooling" }, s.keys.cooling],
    ["keypool_keys", "gauge", { state: "disabled" }, s.keys.disabled],
    ["keypool_waiting_callers", "gauge", {}, s.waiting],
    ["keypool_reseal_backlog", "gauge", {}, s.encryption.toReseal],
    ["keypool_values_unavailable", "gauge", {}, s.encryption.unavailable],
    ["keypool_keys_created_total", "counter", {}, c.created],
    ["keypool_assignments_total", "counter", {}, c.assigned],
    ["keypool_releases_total", "counter", {}, c.released],
    ["keypool_keys_expired_total", "counter", {}, c.expired],
    ["keypool_keys_deleted_total", "counter", {}, c.deleted],
    ["keypool_cooldowns_total", "counter", {}, c.cooled],
    ["keypool_keys_disabled_total", "counter", {}, c.disabled],
    ["keypool_reports_total", "counter", { outcome: "ok" }, c.reportedOk],
    ["keypool_reports_total", "counter", { outcome: "rate_limited" }, c.reportedRateLimited],
    ["keypool_reports_total", "counter", { outcome: "unauthorized" }, c.reportedUnauthorized],
    ["keypool_reports_total", "counter", { outcome: "error" }, c.reportedError],
  ];
}

describe("a pool's metrics in the Prometheus text format", () => {
  it("parse as every family with its HELP and TYPE, and every series with its statistic's value", () => {
    const pool = stats(0);
    const families = parseScrape(metricsText([{ pool: "payments", stats: pool }]));
    const series = expectedSeries(pool);
    expect([...families.keys()].sort()).toEqual([...new Set(series.map(([name]) => name))].sort());
    for (const [name, type, labels, value] of series) {
      expect(families.get(name)?.type, name).toBe(type);
      expect(sampleValue(families, name, { pool: "payments", ...labels }), `${name} ${JSON.stringify(labels)}`).toBe(
        value,
      );
    }
    // Nothing else: one sample per series listed above.
    const samples = [...families.values()].reduce((sum, family) => sum + family.samples.length, 0);
    expect(samples).toBe(series.length);
    for (const [name] of series) expect(name).toMatch(/^keypool_[a-z_]+$/);
    for (const [name, type] of series) expect(name.endsWith("_total")).toBe(type === "counter");
  });

  it("export each of the pool's counters in exactly one series", () => {
    const pool = stats(1000);
    const families = parseScrape(metricsText([{ pool: "p", stats: pool }]));
    const counterSamples = [...families.values()].filter((f) => f.type === "counter").flatMap((f) => f.samples);
    for (const counter of COUNTERS) {
      const found = counterSamples.filter((sample) => sample.value === pool.counters[counter]);
      expect(found, counter).toHaveLength(1);
    }
    expect(counterSamples).toHaveLength(COUNTERS.length);
  });

  it("keep each family's samples together across pools, in the order given", () => {
    const pools = ["a", "b", "c"].map((pool, i) => ({ pool, stats: stats(i * 1000) }));
    const families = parseScrape(metricsText(pools));
    for (const family of families.values()) {
      expect(family.samples.map((s) => s.labels.pool).filter((p, i, all) => all.indexOf(p) === i)).toEqual([
        "a",
        "b",
        "c",
      ]);
    }
    for (const [i, { pool }] of pools.entries()) {
      expect(sampleValue(families, "keypool_keys", { pool, state: "cooling" })).toBe(i * 1000 + 3);
    }
  });

  it("show a pool that did not answer as keypool_pool_up 0 and nothing else of it", () => {
    const families = parseScrape(
      metricsText([
        { pool: "up", stats: stats(0) },
        { pool: "down", stats: null },
      ]),
    );
    expect(sampleValue(families, "keypool_pool_up", { pool: "up" })).toBe(1);
    expect(sampleValue(families, "keypool_pool_up", { pool: "down" })).toBe(0);
    for (const [name, family] of families) {
      if (name === "keypool_pool_up") continue;
      expect(
        family.samples.every((sample) => sample.labels.pool === "up"),
        name,
      ).toBe(true);
    }
  });

  it("escape label values (backslash, double quote, line feed) so that a parser reads them back as they were", () => {
    const names = ['quo"te', "back\\slash", "line\nfeed", 'all\\"\n\\n'];
    const text = metricsText(names.map((pool, i) => ({ pool, stats: stats(i) })));
    expect(text).toContain('pool="quo\\"te"');
    expect(text).toContain('pool="back\\\\slash"');
    expect(text).toContain('pool="line\\nfeed"');
    const families = parseScrape(text);
    for (const [i, pool] of names.entries()) {
      expect(sampleValue(families, "keypool_keys", { pool, state: "blocked" }), JSON.stringify(pool)).toBe(i + 2);
    }
  });

  it("escape HELP text (backslash, line feed), and spell the special values as the format does", () => {
    expect(escapeHelp("a\\b\nc")).toBe("a\\\\b\\nc");
    const help = parseScrape(`# HELP x ${escapeHelp("a\\b\nc")}\n# TYPE x gauge\nx 1\n`).get("x")?.help;
    expect(help).toBe("a\\b\nc");
    expect(
      [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 42, 2 ** 53 - 1].map(formatValue),
    ).toEqual(["NaN", "+Inf", "-Inf", "0", "42", "9007199254740991"]);
  });

  it("are text in the format's line endings: one sample or comment a line, and a final line feed", () => {
    const text = metricsText([{ pool: "p", stats: stats(0) }]);
    expect(text.endsWith("\n")).toBe(true);
    expect(text).not.toContain("\r");
    expect(text).not.toContain("\n\n");
  });

  it("match the pattern the document states, for a pool, a page, one that did not answer and an escaped name", () => {
    for (const text of [
      metricsText([{ pool: "p", stats: stats(0) }]),
      metricsText([], { next: null }),
      metricsText(
        [
          { pool: 'a"b\\c\nd', stats: stats(1) },
          { pool: "down", stats: null },
        ],
        { next: "cDpkb3du" },
      ),
    ]) {
      expect(text).toMatch(METRICS_TEXT_PATTERN);
    }
    expect("keypool_keys 1\nnot a sample\n").not.toMatch(METRICS_TEXT_PATTERN);
  });
});

describe("a page of the directory", () => {
  it("says with keypool_directory_truncated 0 that no pool follows, and carries no cursor", () => {
    const text = metricsText([{ pool: "p", stats: stats(0) }], { next: null });
    const families = parseScrape(text);
    expect(families.get("keypool_directory_truncated")?.type).toBe("gauge");
    expect(sampleValue(families, "keypool_directory_truncated", {})).toBe(0);
    expect(text).not.toContain(NEXT_CURSOR_COMMENT);
  });

  it("says with keypool_directory_truncated 1 that pools follow, and ends with the next cursor as a comment parsers skip", () => {
    const text = metricsText([{ pool: "p", stats: stats(0) }], { next: "cDpw" });
    const families = parseScrape(text);
    expect(sampleValue(families, "keypool_directory_truncated", {})).toBe(1);
    expect(text.trimEnd().split("\n").at(-1)).toBe(`${NEXT_CURSOR_COMMENT} cDpw`);
    expect([...families.keys()]).not.toContain("keypool_next_cursor");
  });
});

describe("the longest text", () => {
  const longest = 2 ** 53 - 1;
  const worst: ScrapedStats = {
    keys: { total: longest, free: longest, blocked: longest, cooling: longest, disabled: longest },
    counters: Object.fromEntries(COUNTERS.map((counter) => [counter, longest])) as Record<Counter, number>,
    waiting: longest,
    encryption: { toReseal: longest, unavailable: longest },
  };

  it("is what maxMetricsLength says, for pools of the longest names and numbers, and every other text is shorter", () => {
    const pools = Array.from({ length: 1000 }, (_, i) => ({ pool: `${i}`.padStart(64, "x"), stats: worst }));
    const cursor = "c".repeat(200);
    expect(metricsText(pools, { next: cursor })).toHaveLength(maxMetricsLength(1000, 64, 200));
    expect(metricsText(pools.slice(0, 1))).toHaveLength(maxMetricsLength(1, 64, null));
    const typical = [{ pool: "payments", stats: stats(0) }];
    expect(metricsText(typical).length).toBeLessThan(maxMetricsLength(1, 64, null));
    expect(metricsText(pools.slice(0, 3), { next: null }).length).toBeLessThan(maxMetricsLength(3, 64, 200));
  });
});
