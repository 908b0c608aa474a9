// One way to wait for a condition in every suite: ask again until it holds or the time is up, never
// sleep and hope.
import { setTimeout as sleep } from "node:timers/promises";

export interface EventuallyOptions {
  /** Milliseconds before giving up (default 15 000). */
  timeout?: number;
  /** Milliseconds between tries (default 25). */
  interval?: number;
  /** What is awaited, for the message when it never comes. */
  what?: string;
  /** More for that message, read when it is written (a log's tail, what is still missing). */
  detail?: () => string;
}

/** Thrown by a try to stop waiting at once: what is awaited can no longer come (its process died). */
export class GiveUp extends Error {}

/** A value `eventually` waits past: not yet. */
type NotYet = undefined | false;

/**
 * Calls `fn` until it returns something other than `undefined` or `false`, and returns that. A try
 * that throws counts as not yet, unless it throws `GiveUp`, which ends the wait with that error; past
 * `timeout` it throws, naming `what`, the last error a try threw and `detail`.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<Exclude<T, NotYet>> {
  const { timeout = 15_000, interval = 25, what = "the condition", detail } = options;
  const deadline = Date.now() + timeout;
  let last = "";
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value as Exclude<T, NotYet>;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      last = `; the last error a try threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`${what} did not come within ${timeout} ms${last}${detail ? `\n${detail()}` : ""}`);
    await sleep(Math.min(interval, left));
  }
}
