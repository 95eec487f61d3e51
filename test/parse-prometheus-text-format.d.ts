// The parser of the Prometheus text format the metrics tests read scrapes with (test/support/prometheus.ts).
// The package ships no types; this is the shape its README and its code give.
declare module "parse-prometheus-text-format" {
  export interface ParsedFamily {
    name: string;
    /** Unescaped; "" when the family has no `# HELP`. */
    help: string;
    /** Upper case: "COUNTER", "GAUGE", ...; "UNTYPED" when the family has no `# TYPE`. */
    type: string;
    /** Each sample's value as written, and its labels (absent when it has none). */
    metrics: Array<{ value: string; labels?: Record<string, string> }>;
  }

  /** Throws on a line the format does not allow. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
