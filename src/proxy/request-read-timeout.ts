/**
 * One stage of RequestReadTimeout (mod_reqtimeout), as a deadline: the stage must be received
 * within `timeout`, each `minrate` bytes received push the deadline back by a second, never past
 * `max` after the start (config: src/config/request-read-timeout.ts).
 *
 * httpd keeps the deadline running while it does not read (it reads the body only as fast as it
 * can pass it on); stickyd suspends it while the member is not taking the body (`pause()`), so
 * that a slow member does not get its client cut off as too slow.
 *
 * One timer per deadline, re-armed only when it fires early: bytes that arrive just move the
 * deadline, they do not touch the timer. `start(false)` does not arm it at all: the header stage
 * of a request whose header block comes whole in one read is over before any timer could fire,
 * so the caller arms it (`ensureArmed()`) only when that read ends with the stage still running.
 * Nor does it read the clock (a quarter of a microsecond per read on a VM): until the timer is
 * armed, in the same read, the deadline and the cap are kept relative to the stage's start.
 */
import type { ReadTimeoutStage } from '../config/request-read-timeout.js';

export class ReadDeadline {
  private deadline = 0;
  private cap = Infinity;
  private timer: NodeJS.Timeout | null = null;
  private pausedAt: number | null = null;
  private running = false;
  /** Started with start(false) and not armed yet: `deadline` and `cap` are relative to the start. */
  private relative = false;

  constructor(
    private readonly stage: ReadTimeoutStage,
    private readonly onExpire: () => void,
  ) {}

  /** The stage has a limit at all (`timeout` 0 turns it off). */
  get enabled(): boolean {
    return this.stage.timeout > 0;
  }

  get started(): boolean {
    return this.running;
  }

  /** Start the stage now (no-op when the stage is off or already running); `armNow` false: see ensureArmed(). */
  start(armNow = true): void {
    if (!this.enabled || this.running) return;
    const now = armNow ? performance.now() : 0;
    this.running = true;
    this.relative = !armNow;
    this.pausedAt = null;
    this.deadline = now + this.stage.timeout;
    this.cap = this.stage.max > 0 ? now + this.stage.max : Infinity;
    if (armNow) this.arm(this.stage.timeout);
  }

  /**
   * A stage started with `start(false)` gets its timer now, if it still runs and has none: called
   * at the end of the read in which the stage started (its start time is this read's).
   */
  ensureArmed(): void {
    if (!this.running || this.timer !== null || this.pausedAt !== null) return;
    const now = performance.now();
    this.settleStart(now);
    this.arm(this.deadline - now);
  }

  /** The time of a start(false) is `now`: make the deadline and the cap absolute. */
  private settleStart(now: number): void {
    if (!this.relative) return;
    this.relative = false;
    this.deadline += now;
    this.cap += now;
  }

  /** `bytes` of the stage arrived: each `minrate` of them buy a second more, up to the cap. */
  received(bytes: number): void {
    if (!this.running || this.stage.minrate === 0) return;
    this.deadline = Math.min(this.cap, this.deadline + (bytes * 1000) / this.stage.minrate);
  }

  /** Stop counting time until `resume()` (stickyd is not reading, not the client's fault). */
  pause(): void {
    if (!this.running || this.pausedAt !== null) return;
    this.pausedAt = performance.now();
    this.settleStart(this.pausedAt);
    this.clear();
  }

  resume(): void {
    if (!this.running || this.pausedAt === null) return;
    const paused = performance.now() - this.pausedAt;
    this.pausedAt = null;
    this.deadline += paused;
    this.cap += paused;
    this.arm(this.deadline - performance.now());
  }

  /** The stage is over (received whole, or the request ended). */
  stop(): void {
    this.running = false;
    this.relative = false;
    this.pausedAt = null;
    this.clear();
  }

  private arm(ms: number): void {
    this.clear();
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly fire = (): void => {
    this.timer = null;
    if (!this.running || this.pausedAt !== null) return;
    const left = this.deadline - performance.now();
    if (left > 0.5) {
      this.arm(left);
      return;
    }
    this.running = false;
    this.onExpire();
  };
}
