import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** How long to keep asking before failing (10 s: generous for a loaded machine). */
  timeoutMs?: number;
  /** The pause between two questions. */
  intervalMs?: number;
}

/**
 * Asks `probe` until it answers something other than undefined, and returns that answer: the one
 * way the tests wait for something that happens in its own time (a webhook applied, a log line
 * written, a server ready). Fails after `timeoutMs`, naming `what` it waited for (a function: to
 * describe the state at that time, e.g. a process's output). An error the
 * probe throws fails the wait at once; a probe that expects errors while it waits catches them.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | undefined | Promise<T | undefined>,
  { timeoutMs = 10_000, intervalMs = 50 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined) return answer;
    if (Date.now() > deadline) {
      const waited = typeof what === 'string' ? what : what();
      throw new Error(`waited ${timeoutMs} ms in vain for ${waited}`);
    }
    await sleep(intervalMs);
  }
}
