// The backend worker: takes requests from the durable pull consumer,
// WORKER_CONCURRENCY at a time (more while they keep hitting the cache), answers
// each from the image cache or a fresh render, and acknowledges only once the
// result is stored and published.
import type { Consumer, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Redis } from "ioredis";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { MemeResult, WorkerHeartbeat } from "../generated/messages.js";
import { HEARTBEAT_MS, keys, resultSubject, subjects } from "../shared/contract.js";
import { imageKey, parseRequest } from "../shared/messages.js";
import type { WorkerMetrics } from "./metrics.js";
import { memeSvg } from "./render/meme.js";
import type { RenderPool } from "./render/pool.js";

export interface WorkerSettings {
  stream: string;
  consumer: string;
  responseSubject: string;
  concurrency: number;
  cacheTtl: number;
  ackWaitSeconds: number;
  shutdownTimeoutSeconds: number;
  /** Delay before a request returned after an error is delivered again. */
  retryDelayMs: number;
}

export interface WorkerDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  redis: Redis;
  pool: RenderPool;
  metrics: WorkerMetrics;
  log: Logger;
}

/** An error of Redis, not of the request: the request is returned to the queue, not failed. */
class CacheUnavailable extends Error {}

/**
 * KEYS[1] image, KEYS[2] result, ARGV[1] TTL, ARGV[2] the result as a hit. When the image is cached,
 * refreshes its lifetime, stores the result and returns 1; otherwise returns 0 and stores nothing.
 * Sent by its SHA1 once a connection has it (ioredis sends the script itself on a connection's first
 * use, and again when Redis has forgotten it after a restart).
 */
const STORE_IF_CACHED = `if redis.call('EXPIRE', KEYS[1], ARGV[1]) == 1 then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[1])
  return 1
end
return 0`;

/** While lookups hit, a worker may hold up to (1 + LOOKAHEAD_FACTOR) × its concurrency. */
export const LOOKAHEAD_FACTOR = 15;

type WithScript = Redis & { memeStoreIfCached(image: string, result: string, ttl: number, hit: string): Promise<number> };

export class Worker {
  readonly id = `${hostname()}-${process.pid}`;
  private readonly startedAt = new Date().toISOString();
  private readonly held = new Set<JsMsg>();
  private processed = 0;
  private failed = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Fetches still open: their batches (to stop them), their number, and how many requests they may still deliver. */
  private readonly batches = new Set<{ stop(): void }>();
  private fetches = 0;
  private requested = 0;
  /**
   * Requests held beyond the concurrency while lookups hit the cache: one more per hit, halved by
   * every miss. A hit needs no render, so a run of hits is served many at a time (waiting for the
   * server between small batches would cap it), while misses keep the worker at its concurrency
   * and leave the rest of a backlog in the queue for the other replicas.
   */
  private lookahead = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private changed: (() => void) | undefined;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly deps: WorkerDeps,
  ) {
    deps.redis.defineCommand("memeStoreIfCached", { numberOfKeys: 2, lua: STORE_IF_CACHED });
  }

  /** Requests the worker may hold now: the concurrency, plus more while lookups keep hitting the cache. */
  get limit(): number {
    return this.settings.concurrency + this.lookahead;
  }

  get inFlight(): number {
    return this.held.size;
  }

  /** Ready while fetching can go on: NATS connected, Redis answering, not stopping. */
  ready(): boolean {
    return !this.stopping && !this.deps.nc.isClosed() && this.deps.redis.status === "ready";
  }

  reason(): string {
    if (this.stopping) return "shutting down";
    if (this.deps.nc.isClosed()) return "NATS connection closed";
    if (this.deps.redis.status !== "ready") return `Redis ${this.deps.redis.status}`;
    return "ready";
  }

  async start(): Promise<void> {
    const consumer = await this.deps.js.consumers.get(this.settings.stream, this.settings.consumer);
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.loop = this.fetchLoop(consumer);
  }

  private beat(): void {
    const beat: WorkerHeartbeat = {
      workerId: this.id,
      inFlight: this.inFlight,
      processed: this.processed,
      failed: this.failed,
      concurrency: this.settings.concurrency,
      startedAt: this.startedAt,
    };
    if (!this.deps.nc.isClosed()) this.deps.nc.publish(subjects.heartbeat, JSON.stringify(beat));
  }

  /** Resolves when Redis answers again; fetching stays paused meanwhile, so no request burns a delivery. */
  private async redisBack(): Promise<void> {
    const { redis, log } = this.deps;
    log.warn({ status: redis.status }, "Redis unavailable: fetching paused");
    while (!this.stopping && redis.status !== "ready") await sleep(250);
    if (!this.stopping) log.info("Redis is back: fetching again");
  }

  /** Resolves when a held request finishes or an open fetch ends. */
  private somethingChanged(): Promise<void> {
    return new Promise<void>((resolve) => (this.changed = resolve));
  }

  private wake(): void {
    this.changed?.();
    this.changed = undefined;
  }

  /**
   * Keeps pull requests open for the free slots: held requests plus what open
   * fetches may still deliver never exceed the limit. A new fetch starts while
   * another is still open once half the slots are free, so the next requests
   * are already on their way when the current ones finish (waiting for each
   * batch to end would cost a round trip to the server every few requests).
   */
  private async fetchLoop(consumer: Consumer): Promise<void> {
    while (!this.stopping) {
      if (this.deps.redis.status !== "ready") {
        await this.redisBack();
        continue;
      }
      const limit = this.limit;
      const free = limit - this.inFlight - this.requested;
      if (free <= 0 || (this.fetches > 0 && free < Math.ceil(limit / 2))) {
        await this.somethingChanged();
        continue;
      }
      void this.fetch(consumer, free);
    }
    while (this.fetches > 0) await this.somethingChanged();
  }

  private async fetch(consumer: Consumer, max: number): Promise<void> {
    this.fetches++;
    this.requested += max;
    let batch: Awaited<ReturnType<Consumer["fetch"]>> | undefined;
    try {
      batch = await consumer.fetch({ max_messages: max, expires: 2000 });
      this.batches.add(batch);
      if (this.stopping) batch.stop();
      for await (const msg of batch) {
        max--;
        this.requested--;
        if (this.stopping) {
          msg.nak();
          continue;
        }
        void this.handle(msg);
      }
    } catch (error) {
      if (!this.stopping) {
        this.deps.log.warn({ err: error }, "fetch failed; trying again");
        // The slots stay taken meanwhile, so a failing server is not asked again at once.
        await sleep(1000);
      }
    } finally {
      if (batch) this.batches.delete(batch);
      this.requested -= max;
      this.fetches--;
      this.wake();
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const { metrics, log } = this.deps;
    this.held.add(msg);
    metrics.inFlight.set(this.inFlight);
    metrics.requests.inc();
    const end = metrics.duration.startTimer();
    try {
      const result = await this.process(msg);
      msg.ack();
      this.processed++;
      if (result.status === "done") metrics.success.inc();
      else {
        this.failed++;
        metrics.errors.inc();
      }
    } catch (error) {
      metrics.errors.inc();
      if (!this.held.has(msg)) return; // returned to the queue by a shutdown meanwhile
      const delay = this.settings.retryDelayMs;
      log.warn({ err: error, seq: msg.seq, redelivery: msg.info.deliveryCount }, `request returned to the queue for another try in ${delay} ms`);
      msg.nak(delay);
    } finally {
      end();
      this.held.delete(msg);
      metrics.inFlight.set(this.inFlight);
      this.wake();
    }
  }

  private async process(msg: JsMsg): Promise<MemeResult> {
    const { redis, pool, metrics } = this.deps;
    const ttl = this.settings.cacheTtl;
    const parsed = parseRequest(msg.data, msg.headers?.get("Nats-Msg-Id") || undefined);
    if (!parsed.ok) {
      // A request that can never succeed is answered and acknowledged at once, so it leaves the lag KEDA reads.
      const result: MemeResult = { id: parsed.id, status: "failed", error: parsed.error, cached: false, renderMs: 0, finishedAt: new Date().toISOString() };
      await this.answer(result).catch(() => this.publish(result));
      return result;
    }
    const request = parsed.request;
    const key = imageKey(request);
    const cache = async <T>(op: () => Promise<T>): Promise<T> => {
      try {
        return await op();
      } catch (error) {
        throw new CacheUnavailable(`Redis: ${(error as Error).message}`);
      }
    };
    const result = (cached: boolean, renderMs: number): MemeResult => ({
      id: request.id,
      status: "done",
      prompt: request.prompt,
      imageKey: key,
      cached,
      renderMs,
      width: request.size,
      template: request.template,
      finishedAt: new Date().toISOString(),
    });
    // A hit needs no bytes: one round trip refreshes the image's lifetime and, when it is there, stores the result.
    const hit = result(true, 0);
    const hitJson = JSON.stringify(hit);
    if ((await cache(() => (redis as WithScript).memeStoreIfCached(key, keys.result(request.id), ttl, hitJson))) === 1) {
      metrics.cacheHits.inc();
      this.lookahead = Math.min(LOOKAHEAD_FACTOR * this.settings.concurrency, this.lookahead + 1);
      this.publish(hit, hitJson);
      return hit;
    }
    metrics.cacheMisses.inc();
    this.lookahead >>= 1;
    // Keep the request ours while it renders, however long that takes.
    const keepAlive = setInterval(() => msg.working(), Math.max(1000, (this.settings.ackWaitSeconds * 1000) / 3));
    const started = performance.now();
    let png: Uint8Array;
    try {
      png = await pool.render(memeSvg(request));
    } finally {
      clearInterval(keepAlive);
    }
    const made = result(false, Math.round((performance.now() - started) * 10) / 10);
    // The image and the result in one round trip.
    const stored = await cache(() =>
      redis
        .multi()
        .set(key, Buffer.from(png.buffer, png.byteOffset, png.byteLength), "EX", ttl)
        .set(keys.result(made.id), JSON.stringify(made), "EX", ttl)
        .exec(),
    );
    const refused = stored?.find(([error]) => error)?.[0];
    if (!stored || refused) throw new CacheUnavailable(`Redis: ${refused?.message ?? "the transaction was discarded"}`);
    this.publish(made);
    return made;
  }

  /** Stores the result (so any frontend replica can answer for the id) and publishes it. */
  private async answer(result: MemeResult): Promise<void> {
    await this.deps.redis.set(keys.result(result.id), JSON.stringify(result), "EX", this.settings.cacheTtl);
    this.publish(result);
  }

  private publish(result: MemeResult, json = JSON.stringify(result)): void {
    this.deps.nc.publish(resultSubject(this.settings.responseSubject, result.id), json);
  }

  /**
   * Scale-down: stop fetching, let what is held finish within the shutdown
   * timeout, return the rest to the queue at once (nak without delay), then stop.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const batch of this.batches) batch.stop();
    this.wake();
    const deadline = Date.now() + this.settings.shutdownTimeoutSeconds * 1000;
    while (this.inFlight > 0 && Date.now() < deadline) await sleep(50);
    const returned = [...this.held];
    for (const msg of returned) {
      this.held.delete(msg);
      msg.nak();
    }
    if (returned.length > 0) this.deps.log.warn({ returned: returned.length }, "returned unfinished requests to the queue");
    clearInterval(this.heartbeat);
    // A fetch in progress ends with its batch; one still being set up while NATS is away may not, and a
    // stopping worker must exit anyway.
    const giveUp = new AbortController();
    await Promise.race([this.loop, sleep(Math.max(1000, deadline - Date.now()), undefined, { signal: giveUp.signal }).catch(() => undefined)]);
    // The loser's timer must not keep an idle process alive until the deadline.
    giveUp.abort();
  }
}
