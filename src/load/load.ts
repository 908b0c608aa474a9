// `load`: sends memes at an even pace, over HTTP to a frontend or straight
// into NATS like the guide's `nats pub` loop, and reports what came back.
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { MemeResult } from "../generated/messages.js";
import { subjects } from "../shared/contract.js";
import { readEvents } from "./events.js";

export const loadHelp = `usage: meme-generator load (--url URL | --nats URL) [options]

  --url URL        a frontend, e.g. http://localhost:8080 (POST /api/memes, results from /api/events)
  --nats URL       a NATS server, e.g. nats://localhost:4222 (JetStream publish, results from ${subjects.response}.>)
  --rate N         requests per second, evenly paced (default 10)
  --count N        send N requests (default 100) ...
  --duration S     ... or send for S seconds
  --prompts KIND   unique (every request renders) or repeated (a few prompts: cache hits) (default unique)
  --fast           512 px images (fastMode)
  --wait S         seconds to wait for the last results (default 60)
  --subject S      request subject with --nats (default ${subjects.request})
  --user U         NATS user with --nats, for a NATS with users: it must publish requests and read
                   results (the frontend's user may; the guide's may only publish)
  --password P     its password (default: NATS_PASSWORD)
  --quiet          no progress bar`;

export class LoadUsageError extends Error {
  override name = "LoadUsageError";
}

export interface LoadOptions {
  url?: string;
  nats?: string;
  user?: string;
  password?: string;
  rate: number;
  count?: number;
  duration?: number;
  prompts: "unique" | "repeated";
  fast: boolean;
  wait: number;
  subject: string;
  quiet: boolean;
}

function positive(name: string, raw: string | undefined, fallback: number | undefined, integer = true): number | undefined {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) throw new LoadUsageError(`--${name} takes a ${integer ? "whole " : ""}number above 0 (got ${JSON.stringify(raw)})`);
  return value;
}

export function parseLoadArgs(argv: string[]): LoadOptions {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
        url: { type: "string" },
        nats: { type: "string" },
        rate: { type: "string" },
        count: { type: "string" },
        duration: { type: "string" },
        prompts: { type: "string" },
        fast: { type: "boolean", default: false },
        wait: { type: "string" },
        subject: { type: "string" },
        user: { type: "string" },
        password: { type: "string" },
        quiet: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    throw new LoadUsageError((error as Error).message);
  }
  if ((v.url === undefined) === (v.nats === undefined)) throw new LoadUsageError("give exactly one of --url (a frontend) or --nats (a NATS server)");
  if (v.url !== undefined && !/^https?:\/\/[^\s/]+/.test(v.url)) throw new LoadUsageError(`--url takes an http:// or https:// address (got ${JSON.stringify(v.url)})`);
  if (v.nats !== undefined && !/^(nats|tls):\/\/[^\s/]+/.test(v.nats)) throw new LoadUsageError(`--nats takes a nats:// address (got ${JSON.stringify(v.nats)})`);
  if (v.count !== undefined && v.duration !== undefined) throw new LoadUsageError("give --count or --duration, not both");
  if (v.prompts !== undefined && v.prompts !== "unique" && v.prompts !== "repeated") throw new LoadUsageError(`--prompts takes unique or repeated (got ${JSON.stringify(v.prompts)})`);
  const duration = positive("duration", v.duration, undefined, false);
  return {
    url: v.url?.replace(/\/+$/, ""),
    nats: v.nats,
    user: v.user,
    password: v.password ?? (process.env.NATS_PASSWORD || undefined),
    rate: positive("rate", v.rate, 10, false) as number,
    count: duration === undefined ? positive("count", v.count, 100) : undefined,
    duration,
    prompts: (v.prompts ?? "unique") as "unique" | "repeated",
    fast: v.fast,
    wait: positive("wait", v.wait, 60, false) as number,
    subject: v.subject ?? subjects.request,
    quiet: v.quiet,
  };
}

export interface LoadSummary {
  sent: number;
  accepted: number;
  done: number;
  failed: number;
  lost: number;
  cached: number;
  p50: number;
  p95: number;
  p99: number;
  throughput: number;
  seconds: number;
  errors: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** The middle value (the lower of the two middle ones for an even count); 0 for none. */
export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

const jokes = ["one does not simply | scale to zero", "keda sees the lag / keda scales the pods", "it works on my cluster", "the hpa is watching", "vpa says you need more memory", "autoscaling all the things"];

export async function runLoad(options: LoadOptions, out: (text: string) => void, tty: boolean): Promise<LoadSummary> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let done = 0;
  let failed = 0;
  let cached = 0;
  let accepted = 0;
  const onResult = (result: MemeResult) => {
    const started = sentAt.get(result.id);
    if (started === undefined) return;
    sentAt.delete(result.id);
    latencies.push(performance.now() - started);
    if (result.status === "done") {
      done++;
      if (result.cached) cached++;
    } else {
      failed++;
      const reason = result.error ?? "unknown";
      errors[reason] = (errors[reason] ?? 0) + 1;
    }
  };
  const noteError = (reason: string) => (errors[reason] = (errors[reason] ?? 0) + 1);

  let send: (id: string, body: object) => Promise<void>;
  let close: () => Promise<void>;
  if (options.url) {
    const base = options.url;
    const stop = await readEvents(base, (type, data) => type === "result" && onResult(data as MemeResult));
    send = async (id, body) => {
      const res = await fetch(`${base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id, ...body }) });
      if (res.status === 202) accepted++;
      else {
        sentAt.delete(id);
        const problem = (await res.json().catch(() => ({}))) as { error?: string };
        noteError(`HTTP ${res.status}${problem.error ? ` ${problem.error}` : ""}`);
      }
    };
    close = async () => stop();
  } else {
    const credentials = options.user || options.password ? { user: options.user, pass: options.password } : {};
    const nc = await connect({ servers: options.nats, name: "meme-generator-load", ...credentials });
    const js = jetstream(nc);
    nc.subscribe(`${subjects.response}.>`, {
      callback: (error, msg) => {
        if (!error) onResult(msg.json<MemeResult>());
      },
    });
    await nc.flush();
    send = async (id, body) => {
      await js.publish(options.subject, JSON.stringify({ id, ...body }), { msgID: id });
      accepted++;
    };
    close = () => nc.close();
  }

  const total = options.count ?? Math.round((options.duration ?? 0) * options.rate);
  const interval = 1000 / options.rate;
  const started = performance.now();
  let sent = 0;
  const progress = () => {
    if (!tty || options.quiet) return;
    const width = 30;
    const filled = Math.round(((done + failed) / Math.max(1, total)) * width);
    out(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] sent ${sent}/${total}  done ${done}  failed ${failed}  in flight ${sentAt.size}   `);
  };
  const ticker = setInterval(progress, 200);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    // Even pacing: each request leaves at its own slot, not in bursts.
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const id = randomUUID();
    const prompt = options.prompts === "unique" ? `${jokes[i % jokes.length]} #${i + 1}-${id.slice(0, 6)}` : (jokes[i % jokes.length] as string);
    sentAt.set(id, performance.now());
    sent++;
    pending.push(send(id, { prompt, fastMode: options.fast }).catch((error: Error) => {
      sentAt.delete(id);
      noteError(error.message);
    }));
  }
  await Promise.all(pending);
  const deadline = performance.now() + options.wait * 1000;
  while (sentAt.size > 0 && performance.now() < deadline) await sleep(50);
  clearInterval(ticker);
  progress();
  if (tty && !options.quiet) out("\n");
  await close();
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    sent,
    accepted,
    done,
    failed,
    lost: sentAt.size,
    cached,
    p50: Math.round(percentile(sorted, 50)),
    p95: Math.round(percentile(sorted, 95)),
    p99: Math.round(percentile(sorted, 99)),
    throughput: Math.round((done / seconds) * 10) / 10,
    seconds: Math.round(seconds * 10) / 10,
    errors,
  };
}

export function formatSummary(s: LoadSummary): string {
  const rows: [string, string][] = [
    ["sent", String(s.sent)],
    ["accepted", String(s.accepted)],
    ["done", `${s.done} (${s.cached} from the cache)`],
    ["failed", String(s.failed)],
    ["no result", String(s.lost)],
    ["end-to-end p50", `${s.p50} ms`],
    ["end-to-end p95", `${s.p95} ms`],
    ["end-to-end p99", `${s.p99} ms`],
    ["throughput", `${s.throughput} memes/s over ${s.seconds} s`],
    ...Object.entries(s.errors).map(([reason, count]): [string, string] => [`error`, `${count} × ${reason}`]),
  ];
  return rows.map(([k, v]) => `${k.padEnd(16)} ${v}`).join("\n");
}

export async function loadCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help")) {
    console.log(loadHelp);
    return 0;
  }
  const options = parseLoadArgs(argv);
  const summary = await runLoad(options, (text) => process.stderr.write(text), process.stderr.isTTY === true);
  console.log(formatSummary(summary));
  return summary.lost > 0 ? 1 : 0;
}
