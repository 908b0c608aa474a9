// One way for every suite to run the program as its container does: a subcommand of the CLI in a
// process of its own with the environment given, ready once its /readyz answers, and never left
// running when the test, or the whole test process, ends.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { projectRoot } from "../../src/shared/project.js";
import { eventually, GiveUp } from "./eventually.js";

/** The built CLI, as the image's entrypoint runs it. */
export const cliBin = join(projectRoot(import.meta.url), "dist", "src", "cli", "bin.js");

/** Where a test registers what to undo when it ends (a tap test). */
interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ProcessOptions {
  /** Variables on top of this process's environment. */
  env?: Record<string, string>;
  /** Resolve once this URL answers 200 (a /readyz); fails at once when the process exits first. */
  readyUrl?: string;
  /** Milliseconds to wait for `readyUrl` (default 30 000). */
  readyTimeout?: number;
  /** Its stdout and stderr: to this file, to this process's own (`inherit`), or dropped (the default; the end of stderr is kept). */
  output?: string;
  /** Where to stop it: a test's teardown; it is stopped at this process's exit in any case. */
  teardown?: Teardown;
}

export interface RunningProcess {
  child: ChildProcess;
  /** The last 8,000 characters it wrote on stderr (not kept with `output: "inherit"`). */
  stderr(): string;
  /** Its exit code once it has exited, or "still running" after `ms`. */
  exit(ms: number): Promise<number | null | "still running">;
  /** SIGTERM, then SIGKILL when it has not exited within `graceMs`; resolves with its exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const running = new Set<ChildProcess>();
let exitHooked = false;

/** Starts `node <args>` (a script and its arguments) as described; see `startCli` for the program. */
export async function startNodeProcess(args: string[], options: ProcessOptions = {}): Promise<RunningProcess> {
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => running.forEach((child) => child.kill("SIGKILL")));
  }
  const inherit = options.output === "inherit";
  const child = spawn(process.execPath, args, { env: { ...process.env, ...options.env }, stdio: ["ignore", inherit ? "inherit" : "pipe", inherit ? "inherit" : "pipe"] });
  running.add(child);
  let stderr = "";
  const closed = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  if (!inherit) {
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    if (options.output) {
      const file = createWriteStream(options.output);
      child.stdout?.pipe(file);
      child.stderr?.pipe(file);
    } else child.stdout?.resume();
  }
  const exit = (ms: number) => Promise.race([closed, sleep(ms).then(() => "still running" as const)]);
  const stop = async (graceMs = 5000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      if ((await exit(graceMs)) === "still running") child.kill("SIGKILL");
    }
    return closed;
  };
  options.teardown?.teardown(() => stop().then(() => undefined));
  if (options.readyUrl) {
    const url = options.readyUrl;
    try {
      await eventually(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new GiveUp(`node ${args.join(" ")} exited (${child.exitCode ?? child.signalCode}) before ${url} answered: ${stderr.slice(-2000)}`);
          return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status === 200;
        },
        { timeout: options.readyTimeout ?? 30_000, interval: 50, what: `${url} answering 200`, detail: () => stderr.slice(-2000) },
      );
    } catch (error) {
      await stop(1000);
      throw error;
    }
  }
  return { child, stderr: () => stderr, exit, stop };
}

/** Starts `meme-generator <command>` from the build, as the container runs it. */
export function startCli(command: string, options: ProcessOptions = {}): Promise<RunningProcess> {
  return startNodeProcess([cliBin, command], options);
}
