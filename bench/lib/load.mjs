/**
 * One bounded load: autocannon at a fixed number of connections for a fixed time, over loopback,
 * with the server's CPU time read before and after so every figure comes with its CPU per request.
 */
import autocannon from "autocannon";

/**
 * `requests` is an autocannon request sequence (each connection cycles through it). Returns req/s,
 * p50/p99 latency in ms, CPU microseconds per completed request, the count of non-2xx answers and
 * the answers by status code.
 */
export async function load(server, { url, requests, connections, seconds, warmup = false }) {
  const cpuBefore = server.cpuNs();
  // autocannon only checks for the end of a run when it takes a sample: sample often, end on time.
  const result = await autocannon({ url, requests, connections, duration: seconds, sampleInt: 100, timeout: 10 });
  const cpuNs = server.cpuNs() - cpuBefore;
  const done = result.requests.total;
  if (!warmup && (done === 0 || result.errors > 0)) {
    const paths = [...new Set(requests.map((request) => request.path ?? "(set per request)"))].join(", ");
    throw new Error(
      `load on ${url} (${paths}) failed: ${done} answers, ${result.errors} errors, ${result.timeouts} timeouts; ` +
        `workerd said: ${server.stderr.slice(-1500) || "nothing"}`,
    );
  }
  return {
    rps: done / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: cpuNs / done / 1000,
    non2xx: result.non2xx,
    // Answers by status code, e.g. { 200: 1990, 404: 10 }.
    codes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    statuses: Object.entries(result.statusCodeStats)
      .filter(([code]) => !code.startsWith("2"))
      .map(([code, { count }]) => `${count} x ${code}`)
      .join(", "),
    requests: done,
  };
}

/** JSON request body helpers for autocannon request steps. */
export const jsonHeaders = { "content-type": "application/json" };

export function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The value at fraction `q` (0..1) of the sorted values, nearest rank. */
export function percentile(values, q) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
