// A reading taken at a steady pace until stopped, for the autoscaler tests: each sample carries its
// time (seconds since the sampler started), labelled marks note what the test did, and `until` waits
// for a sample that shows what the test expects. A failed read is skipped, not recorded.
import { setTimeout as sleep } from "node:timers/promises";
import type { Mark } from "../e2e/plot.js";

export type Sampled<S> = S & { at: number };

export class Sampler<S extends object> {
  readonly samples: Sampled<S>[] = [];
  readonly marks: Mark[] = [];
  readonly t0 = Date.now();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(read: () => Promise<S | undefined>, everyMs: number) {
    this.loop = (async () => {
      while (this.running) {
        const started = Date.now();
        const at = this.now();
        const sample = await read().catch(() => undefined);
        if (sample) this.samples.push({ ...sample, at });
        await sleep(Math.max(0, everyMs - (Date.now() - started)));
      }
    })();
  }

  /** Seconds since the sampler started. */
  now(): number {
    return (Date.now() - this.t0) / 1000;
  }

  /** Notes what the test did now; returns the time. */
  mark(label: string): number {
    const at = this.now();
    this.marks.push({ at, label });
    return at;
  }

  last(): Sampled<S> | undefined {
    return this.samples[this.samples.length - 1];
  }

  /**
   * The first sample for which `done` holds, waiting up to `seconds` for it: from the latest one on, or,
   * given `since` (seconds since the start), from the first taken at or after that time, so a state
   * already passed is found too. Undefined when none came.
   */
  async until(done: (s: Sampled<S>) => boolean, seconds: number, since?: number): Promise<Sampled<S> | undefined> {
    const from = since === undefined ? Math.max(0, this.samples.length - 1) : this.samples.findIndex((s) => s.at >= since);
    const start = from < 0 ? this.samples.length : from;
    for (const deadline = Date.now() + seconds * 1000; ; await sleep(250)) {
      const found = this.samples.slice(start).find(done);
      if (found || Date.now() >= deadline) return found;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
