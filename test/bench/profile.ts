// Where a server's CPU goes, from a V8 CPU profile (`node --cpu-prof`): each sample's time is given to
// the function it caught, grouped by where that function lives (a package, Node's own modules, the
// project's code, V8's garbage collector), counting only the samples taken inside a time window.

/** The parts of a `.cpuprofile` file that are read. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  /** Microseconds, on the clock of `process.hrtime`. */
  startTime: number;
  samples: number[];
  /** Microseconds between one sample and the one before it (the first: since `startTime`). */
  timeDeltas: number[];
}

/** Which part of the process a function belongs to. */
export function category(callFrame: { functionName: string; url: string }): string {
  const { functionName, url } = callFrame;
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "V8 garbage collection";
  if (functionName === "(program)" || functionName === "(root)") return "V8 and native code outside JavaScript";
  const packaged = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (packaged) return packaged[1] as string;
  if (url.startsWith("node:")) return "Node's own modules (http, net, streams, timers)";
  if (/\/dist\/src\//.test(url)) return "the project's code";
  if (/\/dist\/test\//.test(url)) return "the bench's own code";
  return url === "" ? "V8 builtins" : url;
}

/** Microseconds of CPU per category for the samples taken between `from` and `to` (hrtime, µs). */
export function cpuByCategory(profile: CpuProfile, from: number, to: number): Map<string, number> {
  const nodes = new Map(profile.nodes.map((n) => [n.id, category(n.callFrame)]));
  const spent = new Map<string, number>();
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) continue;
    const where = nodes.get(id) ?? "unknown";
    spent.set(where, (spent.get(where) ?? 0) + delta);
  }
  spent.delete("idle");
  return spent;
}

/** The current time on the clock a profile's timestamps use, in microseconds. */
export const profileClock = () => Number(process.hrtime.bigint() / 1000n);
