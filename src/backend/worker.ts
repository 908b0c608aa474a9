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
import { fingerprint, imageKey, parseRequest } from "../shared/messages.js";
import { followConnection } from "../shared/nats.js";
import { answerFailed, defineOwnership, storeOwnResult } from "../shared/ownership.js";
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
 * KEYS[1] owner, KEYS[2] image, KEYS[3] result; ARGV[1] the request's fingerprint, ARGV[2] TTL,
 * ARGV[3] the result as a hit. Returns -1, storing nothing, when another request owns the id (a
 * takeover sent straight onto the bus); else claims the id (or refreshes the claim's lifetime) and,
 * when the id already has a result that is done, returns it unchanged (a client's retry, answered
 * again as it was); when the image is cached, refreshes its lifetime, stores the result and returns
 * 1; otherwise returns 0. Sent by its SHA1 once a connection has it (ioredis sends the script itself
 * on a connection's first use, and again when Redis has forgotten it after a restart).
 */
const CLAIM_AND_STORE_IF_CACHED = `local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local done = redis.call('GET', KEYS[3])
if done and cjson.decode(done).status == 'done' then return done end
if redis.call('EXPIRE', KEYS[2], ARGV[2]) == 1 then
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[2])
  return 1
end
return 0`;

/** A request the worker will not make: acknowledged as ended (term), with nothing stored or published. */
interface Refused {
  refused: string;
  id: string;
}

/** While lookups hit, a worker may hold up to (1 + LOOKAHEAD_FACTOR) × its concurrency. */
export const LOOKAHEAD_FACTOR = 15;

type WithScript = Redis & { memeClaimAndStoreIfCached(owner: string, image: string, result: string, fingerprint: string, ttl: number, hit: string): Promise<number | string> };

export class Worker {
  readonly id = `${hostname()}-${process.pid}`;
  private readonly startedAt = new Date().toISOString();
  private readonly held = new Set<JsMsg>();
  private processed = 0;
  private failed = 0;
  private stopping = false;
  /** The NATS connection's state from its status events, once started (a closed connection is seen apart). */
  private link: { connected(): boolean } = { connected: () => true };
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
  /** The consumer's max_deliver: a request on this delivery gets no other (-1: no limit). */
  private maxDeliver = -1;

  private readonly settings: WorkerSettings;
  private readonly deps: WorkerDeps;

  constructor(settings: WorkerSettings, deps: WorkerDeps) {
    this.settings = settings;
    this.deps = deps;
    deps.redis.defineCommand("memeClaimAndStoreIfCached", { numberOfKeys: 3, lua: CLAIM_AND_STORE_IF_CACHED });
    defineOwnership(deps.redis);
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
    return !this.stopping && this.link.connected() && !this.deps.nc.isClosed() && this.deps.redis.status === "ready";
  }

  reason(): string {
    if (this.stopping) return "shutting down";
    if (this.deps.nc.isClosed()) return "NATS connection closed";
    if (!this.link.connected()) return "NATS is disconnected";
    if (this.deps.redis.status !== "ready") return `Redis ${this.deps.redis.status}`;
    return "ready";
  }

  async start(): Promise<void> {
    const consumer = await this.deps.js.consumers.get(this.settings.stream, this.settings.consumer);
    this.maxDeliver = (await consumer.info(true)).config.max_deliver ?? -1;
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.loop = this.fetchLoop(consumer);
    this.link = followConnection(this.deps.nc);
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
      const outcome = await this.process(msg);
      if ("refused" in outcome) {
        log.warn({ id: outcome.id, seq: msg.seq }, `request refused: ${outcome.refused}`);
        msg.term();
        metrics.errors.inc();
        return;
      }
      msg.ack();
      this.processed++;
      if (outcome.status === "done") metrics.success.inc();
      else {
        this.failed++;
        metrics.errors.inc();
      }
    } catch (error) {
      metrics.errors.inc();
      if (!this.held.has(msg)) return; // returned to the queue by a shutdown meanwhile
      if (this.onLastDelivery(msg)) {
        await this.giveUp(msg, `gave up after ${msg.info.deliveryCount} deliveries: ${(error as Error).message}`);
        return;
      }
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

  /** Whether the server will not deliver this request again, whatever becomes of it now. */
  private onLastDelivery(msg: JsMsg): boolean {
    return this.maxDeliver > 0 && msg.info.deliveryCount >= this.maxDeliver;
  }

  /**
   * A request on its last delivery that did not succeed: answered as failed and ended (term), so it
   * leaves the queue now instead of staying there until someone hears the server's advisory.
   */
  private async giveUp(msg: JsMsg, reason: string): Promise<void> {
    const parsed = parseRequest(msg.data, msg.headers?.get("Nats-Msg-Id") || undefined);
    const { id, answered } = await answerFailed(this.deps.redis, parsed, reason, this.settings.cacheTtl, (result, json) => this.publish(result, json));
    msg.term();
    this.failed++;
    this.deps.log.warn({ id, seq: msg.seq, deliveries: msg.info.deliveryCount, answered }, answered ? reason : `${reason}; unanswered: the id belongs to another request`);
  }

  private async process(msg: JsMsg): Promise<MemeResult | Refused> {
    const { redis, pool, metrics } = this.deps;
    const ttl = this.settings.cacheTtl;
    const cache = async <T>(op: () => Promise<T>): Promise<T> => {
      try {
        return await op();
      } catch (error) {
        throw new CacheUnavailable(`Redis: ${(error as Error).message}`);
      }
    };
    const parsed = parseRequest(msg.data, msg.headers?.get("Nats-Msg-Id") || undefined);
    if (!parsed.ok) {
      // A request that can never succeed is answered and acknowledged at once, so it leaves the lag KEDA reads.
      const result: MemeResult = { id: parsed.id, status: "failed", error: parsed.error, cached: false, renderMs: 0, finishedAt: new Date().toISOString() };
      const json = JSON.stringify(result);
      if (!(await cache(() => storeOwnResult(redis, result, undefined, ttl, json)))) return { refused: "the id belongs to a request that was made; a message that is no request cannot answer for it", id: result.id };
      this.publish(result, json);
      return result;
    }
    const request = parsed.request;
    const key = imageKey(request);
    const owner = fingerprint(request);
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
    const claimed = await cache(() => (redis as WithScript).memeClaimAndStoreIfCached(keys.owner(request.id), key, keys.result(request.id), owner, ttl, hitJson));
    if (claimed === -1) return { refused: "the id belongs to another request (another prompt, size or template)", id: request.id };
    if (typeof claimed === "string") {
      // The same request again, already made: its result stays as it was, and whoever waits hears it again.
      const done = JSON.parse(claimed) as MemeResult;
      this.publish(done, claimed);
      return done;
    }
    if (claimed === 1) {
      metrics.cacheHits.inc();
      this.lookahead = Math.min(LOOKAHEAD_FACTOR * this.settings.concurrency, this.lookahead + 1);
      this.publish(hit, hitJson);
      return hit;
    }
    metrics.cacheMisses.inc();
    this.lookahead >>= 1;
    // Keep the request ours while it renders, for as long as it is ours: a stopping worker may have given it back or up.
    const keepAlive = setInterval(() => (this.held.has(msg) ? msg.working() : clearInterval(keepAlive)), Math.max(1000, (this.settings.ackWaitSeconds * 1000) / 3));
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
        .expire(keys.owner(made.id), ttl)
        .exec(),
    );
    const refused = stored?.find(([error]) => error)?.[0];
    if (!stored || refused) throw new CacheUnavailable(`Redis: ${refused?.message ?? "the transaction was discarded"}`);
    this.publish(made);
    return made;
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
    const last: Promise<void>[] = [];
    for (const msg of returned) {
      this.held.delete(msg);
      // Returned on its last delivery, it would never come back: answered as failed instead.
      if (this.onLastDelivery(msg)) last.push(this.giveUp(msg, `the worker stopped during its last delivery (${msg.info.deliveryCount})`));
      else msg.nak();
    }
    await Promise.all(last);
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
