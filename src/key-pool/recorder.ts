import { type LogEntry, log } from "../log";
import {
  type Actor,
  type AuditChange,
  type AuditDetail,
  type AuditEvent,
  type AuditFilter,
  SYSTEM,
  UNNAMED_ADMIN,
} from "../pool/audit";
import type { AlarmSchedule } from "../storage/alarm";
import type { AuditStore } from "../storage/audit-store";

/** What a recorded change says besides its event and keys: for the log line and the audit entry. */
export interface Recorded {
  /** The fencing number of the block it started, renewed, reported on or ended (audit only: never logged). */
  readonly lease?: number | null;
  /** One lease per key, for a batch. */
  readonly leases?: readonly (number | null)[];
  readonly outcome?: string;
  /** What else the audit entry shows. */
  readonly detail?: AuditDetail;
  /** The detail shows in the log line too. */
  readonly logDetail?: boolean;
  /** The change came of time passing (a deadline), not of the caller. */
  readonly bySystem?: boolean;
  /** Recorded in the audit trail only (a renewal only moves a deadline: it is not logged). */
  readonly auditOnly?: boolean;
}

/**
 * Records one pool's changes: a log line each (the pool and the key ids, never values or leases), and
 * an audit entry per key, by whoever the changes are made for (`as`). The entries of a transaction are
 * staged and written together, in one statement, by `commit`, the transaction's last step; a pool that
 * keeps no trail stages none.
 */
export class Recorder {
  /** Who the changes being made are for: the audit trail's actor. */
  #actor: Actor = UNNAMED_ADMIN;

  constructor(
    private readonly trail: AuditStore,
    private readonly alarm: AlarmSchedule,
    /** The pool's name, for log lines. */
    private readonly name: string,
    /** How long the pool keeps its entries, as its settings say now (0: no trail). */
    private readonly retentionMs: () => number,
  ) {}

  /** Runs `work` with its changes recorded as made by `actor`. */
  as<T>(actor: Actor, work: () => T): T {
    const before = this.#actor;
    this.#actor = actor;
    try {
      return work();
    } finally {
      this.#actor = before;
    }
  }

  /** Records `event` for `keyIds`: one log line for them all, and one audit entry per key. */
  record(event: AuditEvent, keyIds: readonly string[], recorded: Recorded = {}): void {
    const [only] = keyIds;
    if (only === undefined) return;
    if (!recorded.auditOnly) {
      const { outcome, detail, logDetail } = recorded;
      const fields = { ...(outcome === undefined ? {} : { outcome }), ...(logDetail ? detail : {}) };
      this.log(
        keyIds.length === 1 ? { event, keyId: only, ...fields } : { event, count: keyIds.length, keyIds, ...fields },
      );
    }
    this.#stage(
      keyIds.map((keyId, i) =>
        this.#entry(event, keyId, { ...recorded, lease: recorded.leases?.[i] ?? recorded.lease }),
      ),
    );
  }

  /** Records a change of the pool itself (it was made, its settings changed): an entry with no key. */
  recordPool(event: "pool_created" | "settings_changed", detail: AuditDetail | null): void {
    this.#stage([this.#entry(event, null, detail === null ? {} : { detail })]);
  }

  log({ event, ...fields }: LogEntry): void {
    log({ event, pool: this.name, ...fields });
  }

  /**
   * Ends the changes made at `now`: their audit entries are written, in one statement, and the alarm
   * armed to prune them in time. The object calls it last in each transaction.
   */
  commit(now: number): void {
    const at = this.trail.flush(now);
    if (at !== null) this.alarm.armAtMost(at + this.retentionMs());
  }

  /** A page of the audit trail, newest first. */
  page(filter: AuditFilter): ReturnType<AuditStore["page"]> {
    return this.trail.page(filter);
  }

  /**
   * Deletes up to `limit` entries as old as the retention or older (every entry, when the pool keeps no
   * trail); says whether more may be left.
   */
  prune(now: number, limit: number): boolean {
    return this.trail.prune(now - this.retentionMs(), limit) === limit;
  }

  /** When the oldest entry is due to be pruned, or null for an empty trail. */
  deadline(): number | null {
    const oldest = this.trail.oldest();
    return oldest === null ? null : oldest + this.retentionMs();
  }

  /** One audit entry's change, by the actor of the call (or the pool itself). */
  #entry(event: AuditEvent, keyId: string | null, recorded: Recorded): AuditChange {
    return {
      event,
      keyId,
      lease: recorded.lease ?? null,
      outcome: recorded.outcome ?? null,
      actor: recorded.bySystem ? SYSTEM : this.#actor,
      detail: recorded.detail ?? null,
    };
  }

  #stage(changes: readonly AuditChange[]): void {
    if (this.retentionMs() > 0) this.trail.stage(changes);
  }
}
