/**
 * TcpFailureDetector's verification probe (cluster-semantics §1.2, `memberAlive` with performSendTest=true):
 * open a new TCP connection to the member's receiver within `connectTimeout` and write one probe
 * frame. Connect refused, timed out or reset ⇒ dead. Accepted ⇒ alive.
 *
 * One addition to Tomcat: the receiver answers a probe with its member id. If the answer names a
 * different id, the process at that port was restarted and the probed identity is dead. No answer
 * within `connectTimeout` still means alive — a frozen process (GC pause, SIGSTOP) whose kernel
 * completes the handshake is kept, exactly like Tomcat with performReadTest=false.
 */
import net from 'node:net';
import { NONCE_BYTES, newNonce, probeAckMac, splitMac, verifyMac } from './auth.js';
import { FrameDecoder, FrameType, encodeFrame } from './frame.js';
import { setLagSafeTimeout } from './lag-safe-timer.js';
import { parseClusterJson } from './safe-json.js';

export type ProbeVerdict =
  | { alive: true; why: 'answered' | 'accepted' }
  | { alive: false; why: 'refused' | 'timeout' | 'reset' | 'restarted' };

export interface ProbeTarget {
  id: string;
  host: string;
  port: number;
}

export function probeMember(
  target: ProbeTarget,
  options: { connectTimeout: number; secret: Buffer | null },
): Promise<ProbeVerdict> {
  return new Promise((resolve) => {
    const nonce = newNonce();
    const socket = net.connect({ host: target.host, port: target.port });
    const decoder = new FrameDecoder(4096);
    let connected = false;
    let settled = false;
    const finish = (v: ProbeVerdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    // Before connect: the connect timeout. After: the same budget for the (optional) answer. Both
    // decide only after pending I/O was polled, so a stalled event loop cannot fake a dead peer.
    let timer = setLagSafeTimeout(() => {
      if (!connected) finish({ alive: false, why: 'timeout' });
    }, options.connectTimeout);
    socket.setNoDelay(true);
    socket.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      timer = setLagSafeTimeout(() => finish({ alive: true, why: 'accepted' }), options.connectTimeout);
      socket.write(encodeFrame(FrameType.PROBE, nonce));
    });
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch {
        finish({ alive: true, why: 'accepted' });
        return;
      }
      for (const f of frames) {
        if (f.type !== FrameType.PROBE_ACK) continue;
        const parts = splitMac(f.body, options.secret);
        if (!parts || !verifyMac(probeAckMac(options.secret, nonce, parts.payload), parts.mac)) {
          // Something answers that cannot prove who it is: the port is alive, the identity unknown.
          finish({ alive: true, why: 'accepted' });
          return;
        }
        const parsed = parseClusterJson(parts.payload.toString('utf8'));
        const id = parsed.ok ? (parsed.value as { id?: unknown } | null)?.id : undefined;
        finish(id === target.id ? { alive: true, why: 'answered' } : typeof id === 'string'
          ? { alive: false, why: 'restarted' }
          : { alive: true, why: 'accepted' });
        return;
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) finish({ alive: false, why: err.code === 'ETIMEDOUT' ? 'timeout' : 'refused' });
      else finish({ alive: false, why: 'reset' });
    });
    // Closed without an answer after accepting: the port answered (Tomcat's send test passed).
    socket.on('close', () => finish(connected ? { alive: true, why: 'accepted' } : { alive: false, why: 'refused' }));
  });
}

/** Size of a PROBE frame's payload (the nonce), for the receiver's check. */
export const PROBE_PAYLOAD_BYTES = NONCE_BYTES;
