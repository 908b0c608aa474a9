// The one program of the container image: each tier runs it with a subcommand.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, shownDefault, type Variable } from "../shared/env.js";
import { PortInUseError } from "../shared/listen.js";
import { NatsUnavailableError } from "../shared/nats.js";
import { projectRoot } from "../shared/project.js";
import { LoadUsageError } from "../load/load.js";
import { MissingBinaryError } from "../local/servers.js";
import { SmokeFailure } from "../smoke/smoke.js";
import { QueueConfigError } from "../shared/queue.js";
import { MoveError } from "../move/move.js";
import { commandVariables, type CommandName } from "../shared/variables.js";

interface Command {
  summary: string;
  /** Options of commands that take any, for their --help. */
  usage?: () => Promise<string>;
  run(args: string[]): Promise<number>;
}

export const commands: Record<CommandName, Command> = {
  load: {
    summary: "send memes at an even pace over HTTP or NATS and report latency and throughput",
    usage: async () => (await import("../load/load.js")).loadHelp,
    run: async (args) => (await import("../load/load.js")).loadCommand(args),
  },
  smoke: {
    summary: "submit one meme through the API and check its image arrives (what helm test runs)",
    async run() {
      const { smoke } = await import("../smoke/smoke.js");
      console.log(`smoke: ok, ${await smoke()}`);
      return 0;
    },
  },
  start: {
    summary: "run everything on this machine: provision, a frontend and a worker (starts NATS and Redis when none answer)",
    run: async () => (await import("../local/start.js")).runLocal(),
  },
  frontend: {
    summary: "serve the HTTP API and the event stream until SIGTERM",
    run: async () => (await import("../frontend/main.js")).runFrontend(),
  },
  backend: {
    summary: "run a worker: render memes from the queue until SIGTERM",
    run: async () => (await import("../backend/main.js")).runBackend(),
  },
  doctor: {
    summary: "check an installed release through the Kubernetes API: each autoscaler's inputs and each tier's readiness, with fixes",
    usage: async () => (await import("../doctor/doctor.js")).doctorHelp,
    run: async (args) => (await import("../doctor/doctor.js")).doctorCommand(args),
  },
  "move-data": {
    summary: "carry the queue and the cache to where an upgrade moves NATS or Redis (the chart's upgrade hooks run it)",
    usage: async () => "usage: meme-generator move-data keep|move",
    run: async (args) => (await import("../move/move.js")).moveDataCommand(args),
  },
  provision: {
    summary: "create or reconcile the JetStream stream and durable consumer, then exit",
    async run() {
      const { provision } = await import("../provision/provision.js");
      await provision();
      return 0;
    },
  },
};

function version(): string {
  return (JSON.parse(readFileSync(join(projectRoot(import.meta.url), "package.json"), "utf8")) as { version: string }).version;
}

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    "usage: meme-generator <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "Settings come from environment variables (see docs/configuration.md); --help after a command shows its options.",
  ].join("\n");
}

async function commandHelp(name: CommandName, command: Command): Promise<string> {
  const variables = Object.entries(commandVariables[name] as Record<string, Variable<unknown>>);
  const width = Math.max(0, ...variables.map(([v]) => v.length));
  const lines = command.usage ? [await command.usage(), ""] : [`usage: meme-generator ${name}`, ""];
  lines.push(command.summary);
  if (variables.length > 0) {
    lines.push("", "environment:", ...variables.map(([v, spec]) => `  ${v.padEnd(width)}  ${spec.doc} Default: ${shownDefault(spec)}.`));
  }
  return lines.join("\n");
}

/** Errors that a user can act on are one line; anything else is a bug and keeps its stack. */
function describe(error: unknown): string {
  const actionable = [ConfigError, NatsUnavailableError, QueueConfigError, MissingBinaryError, LoadUsageError, SmokeFailure, PortInUseError, MoveError];
  if (actionable.some((kind) => error instanceof kind)) return (error as Error).message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    console.log(version());
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name as CommandName] : undefined;
  if (!command) {
    console.error(`meme-generator: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    console.log(await commandHelp(name as CommandName, command));
    return 0;
  }
  try {
    return await command.run(args);
  } catch (error) {
    console.error(`meme-generator ${name}: ${describe(error)}`);
    return 1;
  }
}
