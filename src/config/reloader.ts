/**
 * Reloading the balancer file (SIGHUP, `POST /api/reload`, `stickyd ctl reload`), one reload at a
 * time, and what the last one did: when it ended, whether it worked, and the problems when it did
 * not. The running configuration stays when a reload fails. The admin API, `ctl status` and the
 * metrics (`stickyd_config_last_reload_successful`, `..._success_timestamp_seconds`, named as
 * Prometheus names its own) read this record; the start counts as the first successful load, as
 * Prometheus counts its own.
 */
import { ConfigError, formatProblem } from './errors.js';
import { loadConfig } from './load.js';
import type { Config } from './types.js';

/** What asked for a reload. */
export type ReloadTrigger = 'start' | 'SIGHUP' | 'api';

export interface ReloadRecord {
  /** When it ended (ISO 8601). */
  time: string;
  trigger: ReloadTrigger;
  successful: boolean;
  /** Each problem on its own line (`FILE:LINE:COL: key: what`); empty when it worked. */
  errors: string[];
}

export interface ReloadStatus {
  /** The balancer file that is (re)loaded. */
  file: string;
  last: ReloadRecord;
  /** When the configuration running now was loaded (ISO 8601). */
  lastSuccess: string;
}

/** What the admin listener can ask of reloads. */
export interface ReloadControl {
  status(): ReloadStatus;
  /** Reload now (after the reload under way, if any); resolves with its record. */
  reload(trigger: ReloadTrigger): Promise<ReloadRecord>;
}

/** Puts a new, valid configuration into effect (log files, then the daemon); rejects when it cannot. */
export type ApplyConfig = (config: Config) => Promise<void>;

interface Messages {
  info(msg: string): void;
  error(msg: string): void;
}

export class Reloader implements ReloadControl {
  private last: ReloadRecord;
  private lastSuccess: string;
  private queue: Promise<unknown> = Promise.resolve();
  private apply: ApplyConfig | null = null;

  constructor(private readonly file: string, private readonly log: Messages, now = new Date()) {
    this.last = { time: now.toISOString(), trigger: 'start', successful: true, errors: [] };
    this.lastSuccess = this.last.time;
  }

  /** The daemon is up: reloads may start. */
  attach(apply: ApplyConfig): void {
    this.apply = apply;
  }

  status(): ReloadStatus {
    return { file: this.file, last: this.last, lastSuccess: this.lastSuccess };
  }

  reload(trigger: ReloadTrigger): Promise<ReloadRecord> {
    const run = this.queue.then(() => this.once(trigger));
    this.queue = run.catch(() => {});
    return run;
  }

  private async once(trigger: ReloadTrigger): Promise<ReloadRecord> {
    this.log.info(`${trigger === 'api' ? 'admin API' : trigger}: reloading ${this.file}`);
    let errors: string[] = [];
    try {
      if (this.apply === null) throw new Error('the daemon is still starting');
      const next = await loadConfig(this.file);
      await this.apply(next);
    } catch (e) {
      errors = e instanceof ConfigError ? e.problems.map(formatProblem) : [`reload failed: ${(e as Error).message}`];
    }
    const time = new Date().toISOString();
    this.last = { time, trigger, successful: errors.length === 0, errors };
    if (errors.length === 0) {
      this.lastSuccess = time;
      this.log.info(`reloaded ${this.file}`);
    } else {
      // Keep running on the configuration we have.
      this.log.error(`reload of ${this.file} failed; the running configuration stays:\n${errors.join('\n')}`);
    }
    return this.last;
  }
}
