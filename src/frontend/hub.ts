// What every frontend replica listens to: results (relayed to its browsers),
// worker heartbeats and the consumer's lag once a second. Each replica also
// answers and removes requests that used up their deliveries: when the server's
// advisory says one did (heard by one replica), and on a timer for those whose
// advisory nobody heard.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { MemeResult, WorkerHeartbeat } from "../generated/messages.js";
import { resultSubject, subjects, WORKER_GONE_MS } from "../shared/contract.js";
import { parseRequest } from "../shared/messages.js";
import { guarded } from "../shared/nats.js";
import { answerFailed, defineOwnership } from "../shared/ownership.js";

const THROUGHPUT_WINDOW_MS = 10_000;

/** How often each replica looks for requests that used up their deliveries while nobody heard the advisory. */
export const SWEEP_MS = 10_000;
/** Requests one sweep removes at most; the next sweep goes on. */
const SWEEP_MAX = 100;

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
  /** Interval of the sweep; SWEEP_MS unless a test shortens it. */
  sweepMs?: number;
}

type Listener = (event: { type: "result"; data: MemeResult } | { type: "stats"; data: Stats }) => void;

export class Hub {
  private readonly listeners = new Set<Listener>();
  private readonly workers = new Map<string, WorkerHeartbeat & { seenAt: number }>();
  private readonly finished: number[] = [];
  private readonly subscriptions: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private sweepAgain = false;
  private latest: Stats = { lag: 0, pending: 0, ackPending: 0, workers: [], throughput: 0, at: null };

  private readonly settings: HubSettings;
  private readonly deps: { nc: NatsConnection; jsm: JetStreamManager; redis: Redis; log: Logger };

  constructor(settings: HubSettings, deps: { nc: NatsConnection; jsm: JetStreamManager; redis: Redis; log: Logger }) {
    this.settings = settings;
    this.deps = deps;
    defineOwnership(deps.redis);
  }

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
      // Anyone may publish on this subject until credentials stop them: an advisory is only a cue to
      // sweep, which removes nothing the server has not really given up on.
      nc.subscribe(subjects.maxDeliveries(this.settings.stream, this.settings.consumer), {
        queue: "meme-generator-frontend",
        callback: guarded(log, "max-deliveries advisory", (msg) => {
          const advisory = msg.json<{ stream_seq?: unknown; deliveries?: unknown }>();
          if (!Number.isSafeInteger(advisory.stream_seq) || !Number.isSafeInteger(advisory.deliveries)) throw new Error("not an advisory of the server");
          return this.sweep();
        }),
      }),
    );
    void this.poll();
    this.timer = setInterval(() => void this.poll(), 1000);
    // A replica that starts sweeps at once: it may be the first to run after all of them were away.
    void this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), this.settings.sweepMs ?? SWEEP_MS);
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
   * Answers as failed, and deletes, the requests that used up their deliveries: in a WorkQueue stream
   * such a request stays stored for good, and nothing else would ever answer it. One sweep runs at a
   * time; a cue that arrives meanwhile runs one more after it.
   */
  sweep(): Promise<void> {
    if (this.sweeping) {
      this.sweepAgain = true;
      return Promise.resolve();
    }
    this.sweeping = true;
    return (async () => {
      try {
        do {
          this.sweepAgain = false;
          await this.sweepOnce();
        } while (this.sweepAgain && this.timer !== undefined);
      } catch (error) {
        this.deps.log.debug({ err: error }, "sweep for exhausted requests failed; the next one tries again");
      } finally {
        this.sweeping = false;
      }
    })();
  }

  /**
   * What is known to have used up its deliveries: every message at or below the consumer's ack floor
   * was acknowledged or exhausted, and in a WorkQueue stream the acknowledged ones are gone, so a
   * message still stored there is exhausted; with nothing awaiting acknowledgement the same holds for
   * everything delivered (the ack floor does not move past a message whose last ack wait ran out
   * until another is acknowledged). Messages still pending or awaiting acknowledgement are above it.
   */
  private async sweepOnce(): Promise<void> {
    const { jsm } = this.deps;
    const info = await jsm.consumers.info(this.settings.stream, this.settings.consumer);
    const exhaustedUpTo = info.num_ack_pending === 0 ? info.delivered.stream_seq : info.ack_floor.stream_seq;
    for (let removed = 0; removed < SWEEP_MAX; removed++) {
      const first = (await jsm.streams.info(this.settings.stream)).state.first_seq;
      if (first === 0 || first > exhaustedUpTo) return;
      if (!(await this.reap(first, info.config.max_deliver ?? -1))) return;
    }
  }

  /** Deletes one exhausted request and, when this replica's delete is the one that removed it, answers it. */
  private async reap(seq: number, deliveries: number): Promise<boolean> {
    const { jsm, redis, nc, log } = this.deps;
    let stored;
    try {
      stored = await jsm.streams.getMessage(this.settings.stream, { seq });
      if (!stored || !(await jsm.streams.deleteMessage(this.settings.stream, seq, false))) return false;
    } catch (error) {
      // Gone already: another replica's sweep removed it first and answers it.
      log.debug({ err: error, seq }, "exhausted request already removed");
      return false;
    }
    const parsed = parseRequest(stored.data, stored.header?.get("Nats-Msg-Id") || undefined);
    const { id, answered } = await answerFailed(redis, parsed, `gave up after ${deliveries} deliveries`, this.settings.cacheTtl, (result, json) =>
      nc.publish(resultSubject(this.settings.responseSubject, result.id), json),
    );
    log.warn({ id, seq, deliveries, answered }, "request gave up after its last delivery");
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.sweepTimer);
    this.timer = undefined;
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.listeners.clear();
  }
}
