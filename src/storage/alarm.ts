/**
 * The object's one alarm, armed at the earliest pending deadline. Setting an alarm is a storage write,
 * so it is written only when that deadline moves earlier than the one armed; a run of the alarm
 * re-arms for whatever is left (cloudflare/agents `_scheduleNextAlarm` works the same way).
 */
export class AlarmSchedule {
  /** The time this object last armed, or null when none is armed as far as it knows. */
  #armedAt: number | null = null;

  /**
   * @param storage the object's storage, for its alarm only
   * @param earliestStored the earliest deadline anything in storage has pending, or null
   */
  constructor(
    private readonly storage: Pick<DurableObjectStorage, "setAlarm" | "deleteAlarm">,
    private readonly earliestStored: () => number | null,
  ) {}

  get armedAt(): number | null {
    return this.#armedAt;
  }

  /** The object has started: `at` is the alarm its storage holds, if any. */
  started(at: number | null): void {
    this.#armedAt = at;
  }

  /** Makes sure the alarm fires no later than `at`; writes only when that moves it earlier. */
  armAtMost(at: number): void {
    if (this.#armedAt !== null) {
      if (at < this.#armedAt) this.arm(at);
      return;
    }
    // Nothing armed does not mean nothing is due: an alarm whose retries ran out leaves overdue work
    // in storage with no alarm, so arm for the earliest deadline stored, not only for this one.
    const stored = this.earliestStored();
    this.arm(stored === null ? at : Math.min(at, stored));
  }

  /** The alarm has fired: whatever follows must be armed anew. */
  fired(): void {
    this.#armedAt = null;
  }

  /** After a run: arms for the earliest deadline left in storage, or clears the alarm when none is. */
  async rearm(): Promise<void> {
    const next = this.earliestStored();
    if (next === null) await this.storage.deleteAlarm();
    else this.arm(next);
  }

  arm(at: number): void {
    this.#armedAt = at;
    void this.storage.setAlarm(at);
  }
}
