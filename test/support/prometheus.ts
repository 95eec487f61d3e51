import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { expect } from "vitest";

/** One sample of a scrape: its labels and its value as a number. */
export interface ParsedSample {
  labels: Record<string, string>;
  value: number;
}

/** A metric family as a scraper reads it. */
export interface ParsedFamily {
  help: string;
  type: "counter" | "gauge";
  samples: ParsedSample[];
}

/**
 * Reads a scrape with a real parser of the Prometheus text format (parse-prometheus-text-format, a port
 * of the official Python client's parser), and checks what every scrape of KeyPool must be: each
 * family once (all its samples together), with a `# HELP` and a `# TYPE` of gauge or counter, and
 * every value a finite number. Answers the families by name.
 */
export function parseScrape(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  for (const family of parsePrometheusTextFormat(text)) {
    expect(families.has(family.name), `${family.name} appears once, its samples together`).toBe(false);
    expect(family.help, `${family.name} has a # HELP`).not.toBe("");
    const type = family.type.toLowerCase();
    expect(["counter", "gauge"], `${family.name} has a # TYPE`).toContain(type);
    const samples = family.metrics.map(({ labels = {}, value }) => {
      const number = Number(value);
      expect(Number.isFinite(number), `${family.name} ${value}`).toBe(true);
      return { labels, value: number };
    });
    families.set(family.name, { help: family.help, type: type as ParsedFamily["type"], samples });
  }
  return families;
}

/** The value of the one sample of `family` with exactly these labels; undefined when it has none. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  family: string,
  labels: Record<string, string>,
): number | undefined {
  const found = families.get(family)?.samples.filter((sample) => sameLabels(sample.labels, labels)) ?? [];
  expect(found.length, `${family} ${JSON.stringify(labels)} at most once`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
