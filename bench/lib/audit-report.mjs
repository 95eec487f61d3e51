/**
 * The report's "Audit trail (issue 15)" section, from bench/lib/audit.mjs's figures: what the trail
 * adds to each write (rows, CPU in the object and per request), bytes per entry, and what a page of
 * the trail costs to read as it grows.
 */
import { AUDIT_OPERATIONS, AUDIT_READS, AUDIT_SEQUENCES, TRAILS } from "./audit.mjs";
import { netPerRound, perOperation } from "./costs.mjs";
import { median } from "./load.mjs";
import { DURABLE_OBJECT } from "./prices.mjs";
import { count, dollars, fixed, int, sizeName, table } from "./report.mjs";

/** The share of a write's CPU the trail may add (issue 15). */
export const AUDIT_TARGET = 0.2;
/** Rows written per audit entry of a key: the entry and its `audit_by_key` index entry. */
export const ROWS_PER_ENTRY = 2;

/** Audit entries per operation (per key for a batch), median over the rounds. */
export function entriesPer(figures, op) {
  return median((figures.operations[op.id] ?? []).map((r) => r.auditEntries / r.calls / (op.per ?? 1)));
}

/** With the trail against without, per operation: rows, statements, CPU (µs net of the loop) and what the trail adds. */
export function comparison(writes, op) {
  const [on, off] = TRAILS.map((trail) => perOperation(writes[trail], op));
  const [cpuOn, cpuOff] = TRAILS.map((trail) => netPerRound(writes[trail], op, "cpuMs"));
  const added = median(cpuOn.map((v, i) => v - (cpuOff[i] ?? Number.NaN)));
  const share = median(cpuOn.map((v, i) => (v - (cpuOff[i] ?? Number.NaN)) / cpuOff[i]));
  const entries = entriesPer(writes.on, op);
  // Per key of a batch the counts are fractions (the call's own rows spread over its keys): equal to a millionth.
  const rowsExact = Math.abs(on.rowsWritten - off.rowsWritten - ROWS_PER_ENTRY * entries) < 1e-6;
  return { on, off, added, share, entries, rowsExact };
}

/** Bytes per entry from the growth of `databaseSize`: with the trail, and net of the same calls without it. */
export function bytesPerEntry(storage, which) {
  const grown = (trail) => {
    const { start, cycles, changes } = storage[trail];
    return which === "cycles" ? cycles.databaseSize - start : changes.databaseSize - cycles.databaseSize;
  };
  const { entries, calls } = storage.on[which];
  return { entries, calls, on: grown("on"), off: grown("off"), net: (grown("on") - grown("off")) / entries };
}

export function auditSection(results) {
  const { audit, settings } = results;
  const out = ["\n### Audit trail (issue 15)\n"];
  if (audit == null) {
    out.push("Not measured.");
    return out;
  }
  const { writes, storage, reads, httpReads, load } = audit;
  const sample = writes.on.operations["create-1000"]?.[0]?.calls;
  const alarmRuns = writes.on.operations["alarm-expiry"]?.[0]?.calls;
  out.push(
    `Each write on two probe pools of ${int(writes.on.keys)} keys, otherwise identical: **with** the trail (the ` +
      "default) and **without** (`auditRetentionDays: 0`), each round every operation on both in turn (a first " +
      `round thrown away), ${writes.on.times} calls in a row (a create of 1000 ${sample} times, ${alarmRuns} alarm ` +
      "runs on pools of their own whose keys live a second), as a client or an admin with a token's fingerprint " +
      "(as through the HTTP API). CPU: µs in the object per operation net of the empty loop, medians of " +
      `${settings.rounds} round(s); added: the median of the round-by-round differences, and of their share of the ` +
      "object's work for the write without the trail. That work is the write's statements and JavaScript, not its " +
      "commit: the calls of the loop commit together at its end. The target is judged per request, below. " +
      `Entries: counted in the trail. Rows written priced at $${fixed(DURABLE_OBJECT.rowsWritten)}/M.\n`,
  );
  const rows = AUDIT_OPERATIONS.filter((op) => !op.onlyWith).map((op) => {
    const c = comparison(writes, op);
    const pair = (field, format) => `${format(c.on[field])} / ${format(c.off[field])}`;
    return [
      op.label,
      count(c.entries),
      pair("rowsWritten", count),
      `${c.rowsExact ? "yes" : "**no**"} (+${fixed(c.on.rowsWritten - c.off.rowsWritten, 3).replace(/\.?0+$/, "")})`,
      pair("statements", count),
      pair("cpuUs", (v) => fixed(v, 1)),
      fixed(c.added, 1),
      `${fixed(c.share * 100, 0)}%`,
      `${dollars(c.on.rowsWritten * DURABLE_OBJECT.rowsWritten)} / ${dollars(c.off.rowsWritten * DURABLE_OBJECT.rowsWritten)}`,
    ];
  });
  out.push(
    table(
      [
        "operation",
        "audit entries",
        "rows written: with / without",
        `+${ROWS_PER_ENTRY} per entry?`,
        "statements: with / without",
        "CPU µs: with / without",
        "added µs",
        "added / the object's work without",
        "$/M rows written: with / without",
      ],
      rows,
    ),
  );
  const append = AUDIT_OPERATIONS.find((op) => op.onlyWith);
  const alone = perOperation(writes.on, append);
  out.push(
    `\nOf that, ${append.label}: ${fixed(alone.cpuUs, 1)} µs, ` +
      `${count(alone.statements)} statement(s), ${count(alone.rowsWritten)} rows written (its own transaction ` +
      "included, as every write has one). A call's entries, however many, are one `INSERT`, written last in its " +
      "transaction. For scale, keep-alive's two statements cost " +
      `${fixed(
        perOperation(
          writes.off,
          AUDIT_OPERATIONS.find((op) => op.id === "keep-alive"),
        ).cpuUs,
        1,
      )} µs.`,
  );
  out.push(
    "\n**The write's CPU, per request** (the target: the trail adds at most " +
      `${AUDIT_TARGET * 100}%): the same writes as whole RPCs from the driver, made one after the other (each ` +
      "a request of its own to the pool's object, run and committed alone), with no HTTP layer (which would only " +
      `add to the CPU without the trail) and no token (no fingerprint), on pools of ${int(load.keys)} keys of the ` +
      `production Worker with and without the trail: ${int(load.times)} repetitions of each write per round, ` +
      `${load.rounds.length} rounds (a first one thrown away), both pools in turn (which goes first alternates). ` +
      "CPU is workerd's per request, the driver's loop included; added: the median of the round-by-round " +
      "differences and of their shares, each round's share in brackets:\n",
  );
  out.push(
    table(
      ["requests", "CPU µs/req: with / without", "added µs", "added / without (rounds)", `<= ${AUDIT_TARGET * 100}%?`],
      AUDIT_SEQUENCES.map((write) => {
        const of = (trail) => median(load.rounds.map((round) => round[write.id][trail].cpuUs));
        const diffs = load.rounds.map((round) => round[write.id].on.cpuUs - round[write.id].off.cpuUs);
        const shares = load.rounds.map((round) => round[write.id].on.cpuUs / round[write.id].off.cpuUs - 1);
        return [
          write.label,
          `${int(of("on"))} / ${int(of("off"))}`,
          int(median(diffs)),
          `${fixed(median(shares) * 100, 0)}% (${shares.map((share) => fixed(share * 100, 0)).join(", ")})`,
          median(shares) <= AUDIT_TARGET ? "yes" : "**no**",
        ];
      }),
    ),
  );

  const keyed = bytesPerEntry(storage, "cycles");
  const keyless = bytesPerEntry(storage, "changes");
  const filled = (trail) => writes.filled[trail].databaseSize / writes.filled[trail].keys;
  out.push(
    "\nStorage, from `databaseSize` (pages of 4 KiB, indexes included), on a pool of 1,000 keys with the trail and " +
      "one without:\n",
  );
  out.push(
    table(
      [
        "entries made by",
        "entries",
        "grown with / without the trail",
        "bytes per entry (net of without)",
        "with, per entry",
      ],
      [
        [
          `${int(keyed.calls)} assign + unblock cycles (keyed: lease, actor; the assignment's release time)`,
          int(keyed.entries),
          `${int(keyed.on)} / ${int(keyed.off)} bytes`,
          `**${fixed(keyed.net, 0)}**`,
          fixed(keyed.on / keyed.entries, 0),
        ],
        [
          `${int(keyless.calls)} settings changes (no key: no index entry; the settings in force as its detail)`,
          int(keyless.entries),
          `${int(keyless.on)} / ${int(keyless.off)} bytes`,
          `**${fixed(keyless.net, 0)}**`,
          fixed(keyless.on / keyless.entries, 0),
        ],
      ],
    ),
  );
  out.push(
    `\nA pool of ${int(writes.on.keys)} keys just filled (one \`created\` entry per key, no actor token): ` +
      `${fixed(filled("on"), 0)} bytes per key with the trail, ${fixed(filled("off"), 0)} without.`,
  );

  const sizes = Object.keys(reads)
    .map(Number)
    .sort((a, b) => a - b);
  const first = sizes[0];
  out.push(
    `\nReading a page of ${reads[first]?.operations[AUDIT_READS[0].id]?.[0]?.calls ?? "–"} in a row in the object ` +
      "(probe pools whose trail is their keys' `created` entries and one key's history of 300 entries), CPU net of " +
      "the empty loop, every size in turn each round; rows read / statements / CPU µs:\n",
  );
  out.push(
    table(
      ["trail", ...AUDIT_READS.map((read) => read.label)],
      sizes.map((size) => [
        `${int(reads[size].entries)} entries`,
        ...AUDIT_READS.map((read) => {
          const figures = perOperation(reads[size], { id: read.id, requests: 1 });
          return `${count(figures.rowsRead)} / ${count(figures.statements)} / ${fixed(figures.cpuUs, 1)}`;
        }),
      ]),
    ),
  );
  const httpSizes = Object.keys(httpReads.entries)
    .map(Number)
    .sort((a, b) => a - b);
  const of = (size, page, field) => median(httpReads.rounds.map((round) => round[size]?.[page]?.[field]));
  const flat = (size, page) =>
    median(httpReads.rounds.map((round) => round[httpSizes[0]]?.[page]?.cpuUs / round[size]?.[page]?.cpuUs));
  out.push(
    "\nOver HTTP (`GET /pools/{pool}/audit` with the admin token, through the production Worker), pools filled over " +
      "HTTP, the no-op RPC ceiling beside them each round; req/s, p50 / p99 ms, CPU µs per request, and CPU at " +
      `the smallest trail over CPU at this one (1.00 = flat):\n`,
  );
  out.push(
    table(
      ["trail", "no-op CPU µs", "newest page", "CPU smallest / this", "a key's history", "CPU smallest / this"],
      httpSizes.map((size) => [
        `${int(httpReads.entries[size])} entries (${sizeName(size)} keys)`,
        int(of(size, "noop", "cpuUs")),
        ...["newest", "key"].flatMap((page) => [
          `${int(of(size, page, "rps"))}, ${fixed(of(size, page, "p50"), 0)} / ${fixed(of(size, page, "p99"), 0)}, ${int(of(size, page, "cpuUs"))}`,
          fixed(flat(size, page)),
        ]),
      ]),
    ),
  );

  const cycle = comparison(
    writes,
    AUDIT_OPERATIONS.find((op) => op.id === "assign-unblock"),
  );
  out.push(
    `\nA million assign + unblock cycles write ${fixed(cycle.on.rowsWritten, 0)} million rows with the trail ` +
      `($${dollars(cycle.on.rowsWritten * DURABLE_OBJECT.rowsWritten)}) and ${fixed(cycle.off.rowsWritten, 0)} ` +
      `million without ($${dollars(cycle.off.rowsWritten * DURABLE_OBJECT.rowsWritten)}); their ` +
      `${count(cycle.entries)} million entries take about ${fixed(cycle.entries * keyed.net, 0)} MB ` +
      `(${fixed(keyed.net, 0)} bytes each) until the retention deletes them.`,
  );
  return out;
}
