/** Starts a timer; the default is an unref'd setTimeout, so a pending summary never holds the process open. */
export type ScheduleSummary = (callback: () => void, delayMs: number) => void;

export interface RateLimitedWarningOptions {
  /** Length of one window, in milliseconds. Default: 60 s. */
  intervalMs?: number;
  /** Injectable for tests, which drive the windows by hand instead of waiting. */
  schedule?: ScheduleSummary;
}

interface Window {
  suppressed: number;
  firstReason?: string;
}

const DEFAULT_INTERVAL_MS = 60_000;

const scheduleUnref: ScheduleSummary = (callback, delayMs) => {
  setTimeout(callback, delayMs).unref();
};

/**
 * One warning per key (a queue) in full, then at most one summary per interval
 * with how many more there were and the first one's reason. A producer sending
 * thousands of bad jobs a second costs a line a minute, not a line a job.
 * A key that stays quiet for a whole interval starts over with a full warning.
 */
export class RateLimitedWarning {
  private readonly windows = new Map<string, Window>();
  private readonly intervalMs: number;
  private readonly schedule: ScheduleSummary;

  constructor(
    private readonly write: (message: string) => void,
    /** The summary line, e.g. `12 more jobs of queue "email" ran under a new root trace in the last 60 s; the first: …`. */
    private readonly summarize: (key: string, count: number, intervalMs: number, firstReason: string) => string,
    options: RateLimitedWarningOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.schedule = options.schedule ?? scheduleUnref;
  }

  /** `message` is written now if `key` had no warning in the current window; otherwise it is counted. */
  warn(key: string, message: string, reason: string): void {
    const window = this.windows.get(key);
    if (window) {
      window.suppressed += 1;
      window.firstReason ??= reason;
      return;
    }
    this.safeWrite(message);
    this.openWindow(key);
  }

  private openWindow(key: string): void {
    this.windows.set(key, { suppressed: 0 });
    this.schedule(() => this.closeWindow(key), this.intervalMs);
  }

  private closeWindow(key: string): void {
    const window = this.windows.get(key);
    this.windows.delete(key);
    if (!window || window.suppressed === 0) return;
    this.safeWrite(this.summarize(key, window.suppressed, this.intervalMs, window.firstReason ?? ''));
    // Still flooding: keep summarizing, one line per interval.
    this.openWindow(key);
  }

  // Runs inside a job or a timer: a logger that throws must reach neither.
  private safeWrite(message: string): void {
    try {
      this.write(message);
    } catch {
      // nothing sensible is left to report it to
    }
  }
}
