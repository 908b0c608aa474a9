// Rendering off the event loop. resvg encodes the PNG synchronously even in
// renderAsync, so a worker that rendered on its main thread would hold back
// acks, heartbeats and working() calls for the length of every encode. Each
// thread here owns one resvg and renders one SVG at a time.
import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { captionFont, FONT_FAMILY } from "./font.js";

// Runs inside each thread (CommonJS, no TypeScript): the module path comes in workerData.
// resvg's native memory (fonts, the pixmap) is released only when V8 collects the
// small JS objects that hold it, and the thread's JS heap hardly grows, so V8
// would seldom collect: a thread's resident memory would climb by the size of a
// pixmap (4 MiB at 1024 px) per meme. So the thread collects after each render,
// from setImmediate: a collection inside the message handler itself frees
// nothing (measured over 600 renders at 1024 px on one thread: 700–1,500 MiB with
// no collection or one in the handler, ~100 MiB with one once it has returned). gc is exposed to the
// thread alone; worker threads take no V8 flags of their own.
const threadSource = `
const { parentPort, workerData } = require("node:worker_threads");
const { Resvg } = require(workerData.resvg);
require("node:v8").setFlagsFromString("--expose-gc");
const collect = require("node:vm").runInNewContext("gc");
const font = { fontFiles: workerData.fontFiles, loadSystemFonts: false, defaultFontFamily: workerData.family };
parentPort.on("message", ({ id, svg }) => {
  try {
    const png = new Resvg(svg, { font }).render().asPng();
    const bytes = new Uint8Array(png.byteLength);
    bytes.set(png);
    parentPort.postMessage({ id, png: bytes }, [bytes.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error) });
  }
  setImmediate(collect);
});
`;

/** CPUs this process may use: the cgroup's CPU quota when there is one, else the machine's. */
export function usableCpus(): number {
  const machine = availableParallelism();
  try {
    const [quota, period] = readFileSync("/sys/fs/cgroup/cpu.max", "utf8").trim().split(/\s+/);
    if (quota && quota !== "max" && period) return Math.max(1, Math.min(machine, Math.ceil(Number(quota) / Number(period))));
  } catch {
    // no cgroup v2 limit to read
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

  constructor(readonly size = usableCpus()) {
    const require = createRequire(import.meta.url);
    const workerData = { resvg: require.resolve("@resvg/resvg-js"), fontFiles: captionFont().files, family: FONT_FAMILY };
    for (let i = 0; i < size; i++) this.threads.push(this.spawn(workerData));
  }

  private spawn(workerData: object): Thread {
    const thread: Thread = { worker: new Worker(threadSource, { eval: true, workerData }), busy: undefined };
    thread.worker.unref();
    thread.worker.on("message", (message: { id: number; png?: Uint8Array; error?: string }) => {
      const job = thread.busy;
      thread.busy = undefined;
      if (job && job.id === message.id) {
        if (message.png) job.resolve(message.png);
        else job.reject(new Error(`render failed: ${message.error}`));
      }
      this.dispatch();
    });
    thread.worker.on("error", (error) => {
      thread.busy?.reject(error);
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
    for (const job of this.queue.splice(0)) job.reject(new Error("render pool is closed"));
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
