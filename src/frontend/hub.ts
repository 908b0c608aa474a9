// What every frontend replica listens to: results (relayed to its browsers),
// worker heartbeats, the consumer's lag once a second, and the advisories of
// requests that used up their deliveries (handled by exactly one replica).
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { MemeResult, WorkerHeartbeat } from "../generated/messages.js";
import { keys, resultSubject, subjects, WORKER_GONE_MS } from "../shared/contract.js";
import { parseRequest } from "../shared/messages.js";
import { guarded } from "../shared/nats.js";

const THROUGHPUT_WINDOW_MS = 10_000;

export interface Stats {
  /** num_pending + num_ack_pending of the consumer: the number KEDA scales on. */
  lag: number;
  pending: number;
  ackPending: number;
  workers: (WorkerHeartbeat & { lastSeenMs: number })[];
  /** Results per second over the last 10 s. */
  throughput: number;
  /** When the lag was read; null until the first read succeeds. */
  at: string | null;
}

export interface HubSettings {
  stream: string;
  consumer: string;
  responseSubject: string;
  cacheTtl: number;
}

type Listener = (event: { type: "result"; data: MemeResult } | { type: "stats"; data: Stats }) => void;

export class Hub {
  private readonly listeners = new Set<Listener>();
  private readonly workers = new Map<string, WorkerHeartbeat & { seenAt: number }>();
  private readonly finished: number[] = [];
  private readonly subscriptions: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private latest: Stats = { lag: 0, pending: 0, ackPending: 0, workers: [], throughput: 0, at: null };

  constructor(
    private readonly settings: HubSettings,
    private readonly deps: { nc: NatsConnection; jsm: JetStreamManager; redis: Redis; log: Logger },
  ) {}

  start(): void {
    const { nc, log } = this.deps;
    this.subscriptions.push(
      nc.subscribe(`${this.settings.responseSubject}.>`, { callback: guarded(log, "result", (msg) => this.onResult(msg.json<MemeResult>())) }),
      nc.subscribe(subjects.heartbeat, {
        callback: guarded(log, "heartbeat", (msg) => {
          const beat = msg.json<WorkerHeartbeat>();
          if (typeof beat.workerId === "string") this.workers.set(beat.workerId, { ...beat, seenAt: Date.now() });
        }),
      }),
      nc.subscribe(subjects.maxDeliveries(this.settings.stream, this.settings.consumer), {
        queue: "meme-generator-frontend",
        callback: guarded(log, "max-deliveries advisory", (msg) => {
          const advisory = msg.json<{ stream_seq?: unknown; deliveries?: unknown }>();
          if (!Number.isSafeInteger(advisory.stream_seq) || !Number.isSafeInteger(advisory.deliveries)) throw new Error("not an advisory of the server");
          return this.onExhausted(advisory as { stream_seq: number; deliveries: number });
        }),
      }),
    );
    void this.poll();
    this.timer = setInterval(() => void this.poll(), 1000);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): Stats {
    return this.latest;
  }

  private emit(event: Parameters<Listener>[0]): void {
    for (const listener of this.listeners) listener(event);
  }

  private onResult(result: MemeResult): void {
    this.finished.push(Date.now());
    this.emit({ type: "result", data: result });
  }

  private async poll(): Promise<void> {
    const now = Date.now();
    while (this.finished.length > 0 && (this.finished[0] as number) < now - THROUGHPUT_WINDOW_MS) this.finished.shift();
    for (const [id, beat] of this.workers) if (now - beat.seenAt > WORKER_GONE_MS) this.workers.delete(id);
    const workers = [...this.workers.values()].map(({ seenAt, ...beat }) => ({ ...beat, lastSeenMs: now - seenAt }));
    const throughput = Math.round((this.finished.length / (THROUGHPUT_WINDOW_MS / 1000)) * 10) / 10;
    try {
      const info = await this.deps.jsm.consumers.info(this.settings.stream, this.settings.consumer);
      this.latest = {
        lag: info.num_pending + info.num_ack_pending,
        pending: info.num_pending,
        ackPending: info.num_ack_pending,
        workers,
        throughput,
        at: new Date().toISOString(),
      };
    } catch (error) {
      this.deps.log.debug({ err: error }, "could not read the consumer's lag");
      this.latest = { ...this.latest, workers, throughput };
    }
    this.emit({ type: "stats", data: this.latest });
  }

  /**
   * A request that used up its deliveries stays in a WorkQueue stream for good:
   * answer it as failed, then delete it, so nothing waits forever.
   */
  private async onExhausted(advisory: { stream_seq: number; deliveries: number }): Promise<void> {
    const { jsm, redis, nc, log } = this.deps;
    let id: string | undefined;
    let prompt: string | undefined;
    try {
      const stored = await jsm.streams.getMessage(this.settings.stream, { seq: advisory.stream_seq });
      if (!stored) return;
      const parsed = parseRequest(stored.data, stored.header?.get("Nats-Msg-Id") || undefined);
      id = parsed.ok ? parsed.request.id : parsed.id;
      prompt = parsed.ok ? parsed.request.prompt : undefined;
    } catch (error) {
      log.debug({ err: error, seq: advisory.stream_seq }, "exhausted request already gone");
      return;
    }
    const result: MemeResult = {
      id,
      status: "failed",
      ...(prompt ? { prompt } : {}),
      error: `gave up after ${advisory.deliveries} deliveries`,
      cached: false,
      renderMs: 0,
      finishedAt: new Date().toISOString(),
    };
    await redis.set(keys.result(id), JSON.stringify(result), "EX", this.settings.cacheTtl).catch(() => undefined);
    nc.publish(resultSubject(this.settings.responseSubject, id), JSON.stringify(result));
    await jsm.streams.deleteMessage(this.settings.stream, advisory.stream_seq, false).catch((error: unknown) => log.warn({ err: error }, "could not delete an exhausted request"));
    log.warn({ id, seq: advisory.stream_seq, deliveries: advisory.deliveries }, "request gave up after its last delivery");
  }

  stop(): void {
    clearInterval(this.timer);
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.listeners.clear();
  }
}
