/**
 * RequestReadTimeout's handshake stage (mod_reqtimeout `handshake=timeout[-max][,MinRate=rate]`)
 * for a connection to a TLS listener: from the connection's start until its TLS handshake is
 * done. The handshake's bytes are read by OpenSSL, not by JavaScript, so MinRate is applied
 * from the TCP socket's byte count when the time is up: each `minrate` bytes received buy a
 * second more, up to `max`.
 */
import type { Socket } from 'node:net';
import type { ReadTimeoutStage } from '../config/request-read-timeout.js';

export class HandshakeDeadline {
  private timer: NodeJS.Timeout | null = null;
  private deadline = 0;
  private cap = Infinity;
  private counted = 0;

  constructor(
    private readonly stage: ReadTimeoutStage,
    private readonly socket: Socket,
    private readonly onExpire: () => void,
  ) {}

  start(): void {
    if (this.stage.timeout <= 0) return;
    const now = performance.now();
    this.deadline = now + this.stage.timeout;
    this.cap = this.stage.max > 0 ? now + this.stage.max : Infinity;
    this.counted = this.socket.bytesRead;
    this.arm(this.stage.timeout);
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    if (this.stage.minrate > 0) {
      const read = this.socket.bytesRead;
      this.deadline = Math.min(this.cap, this.deadline + ((read - this.counted) * 1000) / this.stage.minrate);
      this.counted = read;
    }
    const left = this.deadline - performance.now();
    if (left > 0.5) {
      this.arm(left);
      return;
    }
    this.onExpire();
  };
}
