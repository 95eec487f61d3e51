/**
 * The operations of a pool as fast-check model commands, shared by the model test of the pure rules
 * and the one of the real Durable Object: each command asks the model what the pool must answer,
 * runs the operation on the system under test, compares, and then has the system check its internal
 * invariants against the model.
 */

import fc from "fast-check";
import { expect } from "vitest";
import type { Outcome } from "../../src/outcome";
import type { BlockChange, KeyInfo, OpenedGrant } from "../../src/pool/views";
import type { ModelClaim, ModelReport, PoolModel } from "./model";
import { BLOCK_TTL_MS, KEY_TTL_MS } from "./timings";

/** What a pool offers a model test: the Durable Object's RPC surface plus control over time and faults. */
export interface PoolUnderTest {
  create(count: number): Promise<string[]>;
  /** Imports these values: their ids in order, or refused when one is in the pool already. */
  importKeys(entries: readonly ImportedEntry[]): Promise<Outcome<string[]>>;
  /**
   * `pick` lets a deterministic implementation choose among free keys; the real pool draws its own.
   * `holder` stands for the new block's holder secret (a hex digest).
   */
  assign(pick: number, holder: string): Promise<Outcome<OpenedGrant>>;
  reveal(id: string, claim: ModelClaim): Promise<Outcome<{ keyId: string; key: string }>>;
  info(id: string): Promise<Outcome<KeyInfo>>;
  remove(id: string): Promise<Outcome<{ keyId: string }>>;
  setBlocked(id: string, blocked: boolean, claim: ModelClaim, newHolder: string): Promise<Outcome<BlockChange>>;
  keepAlive(id: string, claim: ModelClaim): Promise<Outcome<KeyInfo>>;
  report(id: string, claim: ModelClaim, report: ModelReport): Promise<Outcome<KeyInfo>>;
  setDisabled(id: string, disabled: boolean): Promise<Outcome<KeyInfo>>;
  /** Moves the pool's clock forward to `now`. */
  setNow(now: number): void;
  /**
   * Delivers the alarm: `due` only when one is armed at or before now (as the platform does, however
   * late), `duplicate` whenever one is armed at all (an at-least-once redelivery, possibly early).
   */
  fireAlarm(mode: "due" | "duplicate"): Promise<void>;
  /** Evicts the object from memory; the next call starts it from storage. */
  restart(): Promise<void>;
  /**
   * Runs the alarm with storage failing at its `failAt`-th store call, then the platform's retry.
   * Only the Durable Object has storage to fail; the pure pool has no such fault.
   */
  failingAlarm(failAt: number): Promise<void>;
  /** Checks every internal invariant against the model (storage, slots, deadlines, alarm). */
  checkInvariants(model: PoolModel): Promise<void>;
}

type Cmd = fc.AsyncCommand<PoolModel, PoolUnderTest>;

/** A value to import, with its label. */
export interface ImportedEntry {
  readonly key: string;
  readonly label?: string;
}

/** How a command names a key: one the pool created (by position), one it never did, or not an id at all. */
export type KeyRef =
  | { readonly kind: "known"; readonly index: number; readonly upper: boolean }
  | { readonly kind: "unknown"; readonly id: string }
  | { readonly kind: "garbage"; readonly text: string };

function resolve(ref: KeyRef, model: PoolModel): string {
  if (ref.kind === "unknown") return ref.id;
  if (ref.kind === "garbage") return ref.text;
  const id = model.ids[ref.index % Math.max(1, model.ids.length)];
  if (id === undefined) return "00000000-0000-4000-8000-000000000000";
  return ref.upper ? id.toUpperCase() : id;
}

const showRef = (ref: KeyRef): string =>
  ref.kind === "known" ? `#${ref.index}${ref.upper ? "^" : ""}` : ref.kind === "unknown" ? "unknown" : "garbage";

/** Which lease a guarded call gives: none, the key's latest (current if still held), an older one, or a future one. */
export type LeaseChoice = "none" | "latest" | "older" | "future";

function leaseFor(choice: LeaseChoice, id: string, model: PoolModel): number | undefined {
  const latest = model.keys.get(id.toLowerCase())?.block?.lease;
  switch (choice) {
    case "none":
      return undefined;
    case "latest":
      return latest ?? Math.max(1, model.leaseSeq);
    case "older":
      return Math.max(1, (latest ?? model.leaseSeq) - 1);
    case "future":
      return model.leaseSeq + 1;
  }
}

/** Which holder secret a call presents: none, the key's latest block's (current if it still holds), or a wrong one. */
export type HolderChoice = "none" | "latest" | "wrong";

/** What a caller presents: as an admin or a client, with the lease and secret chosen. */
export interface ClaimChoice {
  readonly admin: boolean;
  readonly lease: LeaseChoice;
  readonly holder: HolderChoice;
}

function claimFor(choice: ClaimChoice, id: string, model: PoolModel): ModelClaim {
  const latest = model.keys.get(id.toLowerCase())?.block?.holder;
  const holder = choice.holder === "none" ? undefined : choice.holder === "latest" && latest ? latest : "f".repeat(64);
  return { admin: choice.admin, lease: leaseFor(choice.lease, id, model), holder };
}

const showClaim = (c: ClaimChoice) => `${c.admin ? "admin" : "client"}, lease ${c.lease}, secret ${c.holder}`;

/**
 * Deep equality, cheap on the hot path (a string compare) and with vitest's readable diff on failure.
 * Tens of thousands of steps each compare several values, where `expect().toEqual` alone is slow.
 */
export function same(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual, what).toEqual(expected);
}

class Create implements Cmd {
  constructor(readonly count: number) {}
  check = (m: Readonly<PoolModel>) => m.keys.size < 80;
  async run(m: PoolModel, r: PoolUnderTest) {
    const ids = await r.create(this.count);
    if (ids.length !== this.count) throw new Error(`create(${this.count}) made ${ids.length} keys`);
    m.created(ids);
    await r.checkInvariants(m);
  }
  toString = () => `create(${this.count})`;
}

/** Values no run imports twice: a counter, and a length that may or may not earn a hint. */
let imports = 0;

class Import implements Cmd {
  constructor(
    readonly count: number,
    readonly long: boolean,
    readonly labelled: boolean,
    /** Which earlier value the first entry repeats instead of a new one (still held, or gone: either way). */
    readonly again: number | null,
  ) {}
  check = (m: Readonly<PoolModel>) => m.keys.size < 80;
  async run(m: PoolModel, r: PoolUnderTest) {
    const entries = Array.from({ length: this.count }, () => {
      const key = this.long ? `sk-imported-${++imports}-${"x".repeat(12)}\n` : `v${++imports}`;
      return this.labelled ? { key, label: `label ${imports}` } : { key };
    });
    const earlier = m.importedValues();
    if (this.again !== null && earlier.length > 0) entries[0] = { key: earlier[this.again % earlier.length] as string };
    const got = await r.importKeys(entries);
    const expected = m.importRefusal(entries);
    if (expected !== null) same(got, expected, String(this));
    else if (!got.ok || got.value.length !== this.count) throw new Error(`${this}: ${JSON.stringify(got)}`);
    else m.created(got.value, entries);
    await r.checkInvariants(m);
  }
  toString = () =>
    `import(${this.count}${this.long ? ", long" : ""}${this.labelled ? ", labelled" : ""}` +
    `${this.again === null ? "" : `, again #${this.again}`})`;
}

class Assign implements Cmd {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    const free = m.freeKeys().length;
    const holder = m.nextHolder();
    const got = await r.assign(this.pick, holder);
    if (free === 0) same(got, m.noneFree(), "assign with no free key");
    else {
      if (!got.ok) throw new Error(`assign refused (${got.refusal}) with ${free} free keys`);
      same(got.value, m.assigned(got.value.keyId, got.value.key, holder), "assignment");
    }
    await r.checkInvariants(m);
  }
  toString = () => `assign(${this.pick})`;
}

class Reveal implements Cmd {
  constructor(
    readonly ref: KeyRef,
    readonly holder: HolderChoice,
  ) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    const id = resolve(this.ref, m);
    const claim = claimFor({ admin: false, lease: "none", holder: this.holder }, id, m);
    const got = await r.reveal(id, claim);
    same(got, m.reveal(id, got.ok ? got.value.key : undefined, claim.holder), String(this));
    await r.checkInvariants(m);
  }
  toString = () => `reveal(${showRef(this.ref)}, secret ${this.holder})`;
}

class Info implements Cmd {
  constructor(readonly ref: KeyRef) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    const id = resolve(this.ref, m);
    same(await r.info(id), m.infoOf(id), `info ${showRef(this.ref)}`);
    await r.checkInvariants(m);
  }
  toString = () => `info(${showRef(this.ref)})`;
}

class Remove implements Cmd {
  constructor(readonly ref: KeyRef) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    const id = resolve(this.ref, m);
    const got = await r.remove(id);
    same(got, m.remove(id), `remove ${showRef(this.ref)}`);
    await r.checkInvariants(m);
  }
  toString = () => `remove(${showRef(this.ref)})`;
}

class SetBlocked implements Cmd {
  constructor(
    readonly ref: KeyRef,
    readonly blocked: boolean,
    readonly claim: ClaimChoice,
  ) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    const id = resolve(this.ref, m);
    const claim = claimFor(this.claim, id, m);
    const newHolder = m.nextHolder();
    const got = await r.setBlocked(id, this.blocked, claim, newHolder);
    same(got, m.setBlocked(id, this.blocked, claim, newHolder), String(this));
    await r.checkInvariants(m);
  }
  toString = () => `${this.blocked ? "block" : "unblock"}(${showRef(this.ref)}, ${showClaim(this.claim)})`;
}

class KeepAlive implements Cmd {
  constructor(
    readonly ref: KeyRef,
    readonly claim: ClaimChoice,
  ) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    const id = resolve(this.ref, m);
    const claim = claimFor(this.claim, id, m);
    same(await r.keepAlive(id, claim), m.keepAlive(id, claim), String(this));
    await r.checkInvariants(m);
  }
  toString = () => `keepAlive(${showRef(this.ref)}, ${showClaim(this.claim)})`;
}

class Report implements Cmd {
  constructor(
    readonly ref: KeyRef,
    readonly claim: ClaimChoice,
    readonly report: ModelReport,
  ) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    const id = resolve(this.ref, m);
    const claim = claimFor(this.claim, id, m);
    same(await r.report(id, claim, this.report), m.report(id, claim, this.report), String(this));
    await r.checkInvariants(m);
  }
  toString = () => `report(${showRef(this.ref)}, ${showClaim(this.claim)}, ${JSON.stringify(this.report)})`;
}

class SetDisabled implements Cmd {
  constructor(
    readonly ref: KeyRef,
    readonly disabled: boolean,
  ) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    const id = resolve(this.ref, m);
    same(await r.setDisabled(id, this.disabled), m.setDisabled(id, this.disabled), String(this));
    await r.checkInvariants(m);
  }
  toString = () => `${this.disabled ? "disable" : "enable"}(${showRef(this.ref)})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    m.now += this.ms;
    r.setNow(m.now);
    await r.checkInvariants(m);
  }
  toString = () => `advance(${this.ms})`;
}

/** Moves time to one of the pending deadlines, a millisecond before it, or exactly onto it, or just past. */
class AdvanceToDeadline implements Cmd {
  constructor(
    readonly pick: number,
    readonly offset: -1 | 0 | 1,
  ) {}
  check = (m: Readonly<PoolModel>) => (m as PoolModel).pendingDeadlines().length > 0;
  async run(m: PoolModel, r: PoolUnderTest) {
    const deadlines = m.pendingDeadlines();
    const target = (deadlines[this.pick % deadlines.length] as number) + this.offset;
    if (target > m.now) m.now = target;
    r.setNow(m.now);
    await r.checkInvariants(m);
  }
  toString = () => `toDeadline(${this.pick}, ${this.offset >= 0 ? "+" : ""}${this.offset})`;
}

class FireAlarm implements Cmd {
  constructor(readonly mode: "due" | "duplicate") {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    await r.fireAlarm(this.mode);
    await r.checkInvariants(m);
  }
  toString = () => `alarm(${this.mode})`;
}

class FailingAlarm implements Cmd {
  constructor(readonly failAt: number) {}
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    await r.failingAlarm(this.failAt);
    await r.checkInvariants(m);
  }
  toString = () => `alarm(fails at store call ${this.failAt}, then retried)`;
}

class Restart implements Cmd {
  check = () => true;
  async run(m: PoolModel, r: PoolUnderTest) {
    await r.restart();
    await r.checkInvariants(m);
  }
  toString = () => "evict";
}

const keyRef: fc.Arbitrary<KeyRef> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant("known" as const), index: fc.nat(200), upper: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unknown" as const), id: fc.uuid({ version: 4 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("garbage" as const),
      text: fc.oneof(fc.constantFrom("", "not-a-uuid", "../keys", "00000000000000000000000000000000"), fc.string()),
    }),
  },
);
const leaseChoice: fc.Arbitrary<LeaseChoice> = fc.constantFrom("none", "latest", "latest", "older", "future");
const holderChoice: fc.Arbitrary<HolderChoice> = fc.constantFrom("none", "latest", "latest", "wrong");
// Mostly admins, as most calls without a secret are theirs; clients too, whom the pool must refuse
// unless they prove they hold the key.
const claimChoice: fc.Arbitrary<ClaimChoice> = fc.record({
  admin: fc.constantFrom(true, true, false),
  lease: leaseChoice,
  holder: holderChoice,
});
const reportChoice: fc.Arbitrary<ModelReport> = fc.record(
  {
    outcome: fc.constantFrom(
      "ok" as const,
      "rate_limited" as const,
      "unauthorized" as const,
      "error" as const,
      "error" as const,
    ),
    retryAfterMs: fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: 0, max: 2 * BLOCK_TTL_MS }),
      fc.constantFrom(0, 1, 1000),
    ),
    release: fc.boolean(),
  },
  { requiredKeys: ["outcome"] },
);
const advanceBy: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 2_000 }),
  fc.integer({ min: 1, max: BLOCK_TTL_MS }),
  fc.constantFrom(BLOCK_TTL_MS - 1, BLOCK_TTL_MS, BLOCK_TTL_MS + 1, KEY_TTL_MS - 1, KEY_TTL_MS, KEY_TTL_MS + 1),
  fc.integer({ min: BLOCK_TTL_MS, max: 2 * KEY_TTL_MS }),
);

/**
 * Every operation of a pool, weighted so that sequences keep a handful of live keys around; with
 * `faults`, also evictions and alarms whose storage fails midway; with `duplicates`, imports that
 * repeat a value imported before (the pure rules have no store to find them in).
 */
export function poolCommands(options: { faults: boolean; duplicates: boolean }): Array<fc.Arbitrary<Cmd>> {
  const commands: Array<fc.Arbitrary<Cmd>> = [
    fc.constantFrom(1, 1, 2, 3, 5, 8).map((count) => new Create(count)),
    fc
      .tuple(
        fc.constantFrom(1, 2, 3),
        fc.boolean(),
        fc.boolean(),
        options.duplicates ? fc.option(fc.nat(), { freq: 3 }) : fc.constant(null),
      )
      .map(([count, long, labelled, again]) => new Import(count, long, labelled, again)),
    fc.nat().map((pick) => new Assign(pick)),
    fc.nat().map((pick) => new Assign(pick)),
    fc.tuple(keyRef, holderChoice).map(([ref, holder]) => new Reveal(ref, holder)),
    keyRef.map((ref) => new Info(ref)),
    keyRef.map((ref) => new Remove(ref)),
    fc.tuple(keyRef, claimChoice).map(([ref, claim]) => new SetBlocked(ref, true, claim)),
    fc.tuple(keyRef, claimChoice).map(([ref, claim]) => new SetBlocked(ref, false, claim)),
    fc.tuple(keyRef, claimChoice).map(([ref, claim]) => new KeepAlive(ref, claim)),
    fc.tuple(keyRef, claimChoice).map(([ref, claim]) => new KeepAlive(ref, claim)),
    fc.tuple(keyRef, claimChoice, reportChoice).map(([ref, claim, report]) => new Report(ref, claim, report)),
    fc.tuple(keyRef, claimChoice, reportChoice).map(([ref, claim, report]) => new Report(ref, claim, report)),
    fc.tuple(keyRef, fc.boolean()).map(([ref, disabled]) => new SetDisabled(ref, disabled)),
    advanceBy.map((ms) => new Advance(ms)),
    fc
      .tuple(fc.nat(), fc.constantFrom(-1 as const, 0 as const, 1 as const))
      .map(([p, o]) => new AdvanceToDeadline(p, o)),
    fc.constantFrom("due" as const, "due" as const, "duplicate" as const).map((mode) => new FireAlarm(mode)),
  ];
  if (options.faults) {
    commands.push(
      fc.constant(new Restart()),
      fc.integer({ min: 1, max: 12 }).map((n) => new FailingAlarm(n)),
    );
  }
  return commands;
}

/** How many sequences and steps a model test ran, and of which operations, for RELIABILITY.md. */
export class Tally {
  sequences = 0;
  steps = 0;
  private readonly byOperation = new Map<string, number>();

  add(commands: Iterable<fc.AsyncCommand<PoolModel, PoolUnderTest>>): void {
    this.sequences++;
    for (const command of commands) {
      // fast-check wraps each command and marks the ones that ran (a failed `check` skips one).
      if (!(command as { hasRan?: boolean }).hasRan) continue;
      this.steps++;
      const operation = String(command).replace(/\(.*$/, "");
      this.byOperation.set(operation, (this.byOperation.get(operation) ?? 0) + 1);
    }
  }

  toString(): string {
    const operations = [...this.byOperation].sort(([a], [b]) => a.localeCompare(b));
    return `${this.sequences} sequences, ${this.steps} steps: ${operations.map(([o, n]) => `${o} ${n}`).join(", ")}`;
  }
}
