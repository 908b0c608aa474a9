// Rendering off the event loop. resvg encodes the PNG synchronously even in
// renderAsync, so a worker that rendered on its main thread would hold back
// acks, heartbeats and working() calls for the length of every encode. Each
// thread here owns one resvg and renders one SVG at a time.
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { captionFont, FONT_FAMILY } from "./font.js";
import type { ThreadData, ThreadReply } from "./thread.js";

// The thread's code is thread.ts. Run from the sources (tests), the thread runs
// the TypeScript file itself, which Node strips of its types; it takes none of
// the process's flags, so a test runner's loader does not start in every thread.
const threadModule = new URL(import.meta.url.endsWith(".ts") ? "./thread.ts" : "./thread.js", import.meta.url);

/**
 * CPUs this process may use: the cgroup's CPU quota when there is one (cgroup v2's `cpu.max`, or
 * v1's `cpu.cfs_quota_us` over `cpu.cfs_period_us`), else the machine's.
 */
export function usableCpus(cgroupRoot = "/sys/fs/cgroup"): number {
  const machine = availableParallelism();
  const read = (file: string) => {
    try {
      return readFileSync(`${cgroupRoot}/${file}`, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const limited = (quota: number, period: number) => Math.max(1, Math.min(machine, Math.ceil(quota / period)));
  const v2 = read("cpu.max")?.split(/\s+/);
  if (v2) {
    const [quota, period] = v2;
    return quota && quota !== "max" && period ? limited(Number(quota), Number(period)) : machine;
  }
  for (const dir of ["cpu", "cpu,cpuacct"]) {
    const quota = Number(read(`${dir}/cpu.cfs_quota_us`));
    const period = Number(read(`${dir}/cpu.cfs_period_us`));
    if (quota > 0 && period > 0) return limited(quota, period);
  }
  return machine;
}

interface Job {
  id: number;
  svg: string;
  resolve(png: Uint8Array): void;
  reject(error: Error): void;
}

interface Thread {
  worker: Worker;
  busy: Job | undefined;
}

export class RenderPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  readonly size: number;

  constructor(size = usableCpus()) {
    this.size = size;
    const workerData: ThreadData = { fontFiles: captionFont().files, family: FONT_FAMILY };
    for (let i = 0; i < size; i++) this.threads.push(this.spawn(workerData));
  }

  private spawn(workerData: ThreadData): Thread {
    const thread: Thread = { worker: new Worker(threadModule, { workerData, execArgv: [] }), busy: undefined };
    thread.worker.unref();
    thread.worker.on("message", (message: ThreadReply) => {
      const job = thread.busy;
      thread.busy = undefined;
      if (job && job.id === message.id) {
        if ("png" in message) job.resolve(message.png);
        else job.reject(new Error(`render failed: ${message.error}`));
      }
      this.dispatch();
    });
    thread.worker.on("error", (error) => {
      thread.busy?.reject(error instanceof Error ? error : new Error(String(error)));
      thread.busy = undefined;
      if (!this.closed) {
        const index = this.threads.indexOf(thread);
        if (index >= 0) this.threads[index] = this.spawn(workerData);
        this.dispatch();
      }
    });
    return thread;
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (thread.busy) continue;
      const job = this.queue.shift();
      if (!job) return;
      thread.busy = job;
      thread.worker.postMessage({ id: job.id, svg: job.svg });
    }
  }

  render(svg: string): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error("render pool is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, svg, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const closed = () => new Error("render pool is closed");
    for (const job of this.queue.splice(0)) job.reject(closed());
    // A render cut short by the close is answered too, or its caller would wait for ever.
    for (const thread of this.threads) {
      thread.busy?.reject(closed());
      thread.busy = undefined;
    }
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
