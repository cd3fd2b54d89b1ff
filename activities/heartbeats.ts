/**
 * An activity's heartbeats: the latest progress is kept on every call, and sent at most once
 * a second (at once when the last went out a second ago, else by a timer), instead of
 * converting a payload before every request. A heartbeat is also how a running activity
 * learns it was cancelled, so they keep going out while it works; Temporal's worker throttles
 * what reaches the server on top of this.
 */
export class Heartbeats {
  private latest: unknown;
  private dirty = false;
  private sentAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (details: unknown) => void,
    private readonly everyMs = 1_000,
  ) {}

  beat(details: unknown): void {
    this.latest = details;
    this.dirty = true;
    const wait = this.sentAt + this.everyMs - Date.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, wait);
      this.timer.unref();
    }
  }

  /** Sends the latest progress now, if it was not sent yet (before failing, so a retry resumes from it). */
  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.sentAt = Date.now();
    this.send(this.latest);
  }

  /** The call is over: nothing more goes out. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.dirty = false;
  }
}
