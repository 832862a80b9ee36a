/**
 * How long a test waits for something that must happen.
 *
 * The deadline of such a wait asserts nothing about speed: it only turns a hang into a failure
 * with a message. The numbers tests pass are what a step takes on an idle machine, with a margin;
 * on two loaded cores (two test files at once, a second `npm test`, other work on the machine) a
 * step that takes 50 ms alone can take seconds. So a wait lasts at least PATIENCE_MS, or longer
 * when asked.
 *
 * Timing that is behaviour is asserted otherwise: "not before" bounds (a timeout does not fire
 * early) stay exact; "at once, not after the timeout" is shown by making the timeout longer than
 * the wait, or by what happened (a removal's reason, a message counted); "does not happen" is a
 * sleep followed by an expectation, never a wait that is expected to time out.
 */
export const PATIENCE_MS = 15_000;

/** The deadline for a wait a test would give `ms`. */
export function patience(ms: number): number {
  return Math.max(ms, PATIENCE_MS);
}

/** Resolves once `check` holds (polled every `everyMs`); fails naming `what` after patience(timeoutMs). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 0, everyMs = 10): Promise<void> {
  const limit = patience(timeoutMs);
  const deadline = Date.now() + limit;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limit} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
