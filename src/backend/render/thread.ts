// One render thread of the pool (pool.ts): owns one resvg and renders one SVG
// at a time, sending the PNG back as a transferred buffer.
//
// resvg's native memory (fonts, the pixmap) is released only when V8 collects
// the small JS objects that hold it, and the thread's JS heap hardly grows, so
// V8 would seldom collect: a thread's resident memory would climb by the size
// of a pixmap (4 MiB at 1024 px) per meme. So the thread collects after each
// render, from setImmediate: a collection inside the message handler itself
// frees nothing (measured over 600 renders at 1024 px on one thread: 700–1,500
// MiB with no collection or one in the handler, ~100 MiB with one once it has
// returned). gc is exposed to the thread alone; worker threads take no V8 flags
// of their own.
import { Resvg } from "@resvg/resvg-js";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";

export interface ThreadData {
  fontFiles: string[];
  family: string;
}

export type ThreadReply = { id: number; png: Uint8Array } | { id: number; error: string };

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
const data = workerData as ThreadData;
const font = { fontFiles: data.fontFiles, loadSystemFonts: false, defaultFontFamily: data.family };

parentPort?.on("message", ({ id, svg }: { id: number; svg: string }) => {
  let reply: ThreadReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const png = new Resvg(svg, { font }).render().asPng();
    const bytes = new Uint8Array(png.byteLength);
    bytes.set(png);
    reply = { id, png: bytes };
    transfer.push(bytes.buffer);
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply, transfer);
  setImmediate(collect);
});
