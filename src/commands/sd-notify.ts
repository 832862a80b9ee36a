/**
 * systemd's readiness protocol (sd_notify(3)) for `Type=notify` units. The protocol is a datagram
 * on the unix socket named by $NOTIFY_SOCKET, which node cannot send (node:dgram has UDP only, and
 * a native addon is not worth it for three messages in a process's life). systemd's own
 * `systemd-notify` does it: since systemd 246 it waits until the manager has read the message
 * (BARRIER=1), so the message is credited to this service although the helper exits at once;
 * the unit needs NotifyAccess=all, as the helper is a child process (examples/systemd/).
 *
 * Without $NOTIFY_SOCKET (not under systemd, or another Type=) nothing is done.
 */
import { execFile } from 'node:child_process';

/** How long systemd-notify may take before it is given up on. */
const NOTIFY_TIMEOUT_MS = 5000;

/**
 * Tell systemd `fields` (e.g. { READY: '1', STATUS: '…' }). Resolves with the problem when the
 * message could not be sent, null when it was (or when there is no $NOTIFY_SOCKET).
 */
export function sdNotify(fields: Record<string, string>, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve(null);
  const args: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'READY' && value === '1') args.push('--ready');
    else if (key === 'STATUS') args.push(`--status=${value}`);
    else args.push(`${key}=${value}`);
  }
  // MAINPID: the message is about this process, not about the helper.
  args.push(`--pid=${process.pid}`);
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { env, timeout: NOTIFY_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err === null) return resolve(null);
      const code = (err as NodeJS.ErrnoException).code;
      resolve(code === 'ENOENT' ? 'systemd-notify is not installed' : (stderr.trim() || err.message));
    });
  });
}
