// The frontend's HTTP API, built as one fastify app from its connections.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { MemeResult } from "../generated/messages.js";
import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { keys, PROMPT_MAX, RECENT_MAX, templateNames } from "../shared/contract.js";
import { parseRequest, type NormalizedRequest } from "../shared/messages.js";
import { projectRoot } from "../shared/project.js";
import type { Hub } from "./hub.js";

export interface FrontendSettings {
  requestSubject: string;
  cacheTtl: number;
  rateLimitPerMinute: number;
  burstMax: number;
  maxInflight: number;
}

export interface FrontendDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  redis: Redis;
  hub: Hub;
  log: Logger;
  /** Why the process cannot do its job now (NATS or Redis away, or stopping); undefined when it can. */
  unready(): string | undefined;
}

/** A pending record: written on submit, so any replica can answer for the id before the result exists. */
interface Pending {
  id: string;
  status: "queued";
  prompt: string;
  width: number;
  template: string;
  submittedAt: string;
}

/**
 * The pending record and the wall's list in one atomic round trip: a script, sent by its SHA1 once
 * Redis knows it. A MULTI does the same, but ioredis builds a pipeline object per transaction whose
 * parts outlive V8's young-generation collections; at a few hundred requests a second those
 * collections then take several milliseconds each, and every request waiting meanwhile pays for it.
 * An id submitted again (a client retrying with the same id) goes on the wall once: 1 when the record
 * is new, 0 when it was there already.
 */
const STORE_PENDING = `local fresh = redis.call('EXISTS', KEYS[1]) == 0
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if fresh then
  redis.call('LPUSH', KEYS[2], ARGV[3])
  redis.call('LTRIM', KEYS[2], 0, ARGV[4])
  return 1
end
return 0`;

/** The undoing of STORE_PENDING, for a meme the queue did not take. */
const FORGET = `redis.call('DEL', KEYS[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
return 1`;

type WithScript = Redis & {
  memeStorePending(pending: string, recent: string, record: string, ttl: number, id: string, last: number): Promise<number>;
  memeForget(pending: string, recent: string, id: string): Promise<number>;
};

type View = (Pending | (MemeResult & { prompt?: string })) & { links: { self: string; image: string } };

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
};

export function frontendMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({ name: "meme_frontend_http_requests_total", help: "HTTP requests", labelNames: ["route", "method", "status"] as const, registers: [registry] }),
    duration: new Histogram({ name: "meme_frontend_http_request_duration_seconds", help: "HTTP request duration", labelNames: ["route", "method"] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: [registry] }),
    published: new Counter({ name: "meme_frontend_published_total", help: "Requests published to the queue", registers: [registry] }),
    relayed: new Counter({ name: "meme_frontend_results_relayed_total", help: "Results relayed to browsers", registers: [registry] }),
    sseClients: new Gauge({ name: "meme_frontend_sse_clients", help: "Browsers connected to /api/events", registers: [registry] }),
    queueLag: new Gauge({ name: "meme_frontend_queue_lag", help: "num_pending + num_ack_pending of the consumer, the number KEDA scales on", registers: [registry] }),
    workers: new Gauge({ name: "meme_frontend_live_workers", help: "Workers heard from in the last 6 s", registers: [registry] }),
  };
}

export type FrontendMetrics = ReturnType<typeof frontendMetrics>;

function problem(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).send({ error, message });
}

const links = (id: string) => ({ self: `/api/memes/${id}`, image: `/api/memes/${id}/image.png` });

/** Per-address sliding one-minute window: at most `perMinute` submissions in any 60 s. */
export class RateLimiter {
  private readonly seen = new Map<string, number[]>();
  private takes = 0;
  constructor(private readonly perMinute: number) {}

  /** Seconds to wait, or 0 when the request may go ahead. */
  take(client: string, now = Date.now()): number {
    if (this.perMinute === 0) return 0;
    if (++this.takes % 1000 === 0) this.sweep(now);
    const recent = (this.seen.get(client) ?? []).filter((at) => at > now - 60000);
    if (recent.length >= this.perMinute) {
      this.seen.set(client, recent);
      return Math.max(1, Math.ceil(((recent[0] as number) + 60000 - now) / 1000));
    }
    recent.push(now);
    this.seen.set(client, recent);
    return 0;
  }

  /** Forgets clients that sent nothing in the last minute. */
  private sweep(now: number): void {
    for (const [client, times] of this.seen) if (times.every((at) => at <= now - 60000)) this.seen.delete(client);
  }

  get clients(): number {
    return this.seen.size;
  }
}

/** Paths that load shedding never refuses. */
const UNSHED = new Set(["/healthz", "/readyz"]);

export async function buildApp(settings: FrontendSettings, deps: FrontendDeps, metrics: FrontendMetrics): Promise<FastifyInstance> {
  const { js, hub, log } = deps;
  const redis = deps.redis as WithScript;
  redis.defineCommand("memeStorePending", { numberOfKeys: 2, lua: STORE_PENDING });
  redis.defineCommand("memeForget", { numberOfKeys: 2, lua: FORGET });
  // Per-request logs would drown everything else at demo rates: fastify logs warnings and errors only.
  const quiet = log.child({}, { level: log.isLevelEnabled("warn") ? "warn" : log.level });
  const app: FastifyInstance = Fastify({ loggerInstance: quiet as FastifyBaseLogger, bodyLimit: 16 * 1024, trustProxy: true });
  const limiter = new RateLimiter(settings.rateLimitPerMinute);
  let inflight = 0;
  const streams = new Set<FastifyReply>();

  app.addHook("onRequest", async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    // Event streams are long by nature, and probes are never shed: a full frontend is still alive and says whether it is ready.
    if (request.url.startsWith("/api/events") || UNSHED.has(request.url)) return;
    if (inflight >= settings.maxInflight) {
      reply.header("retry-after", "1");
      return problem(reply, 503, "overloaded", "the frontend is at capacity; try again in a second");
    }
    inflight++;
    // The response closes however the request ends: answered, aborted by the client, or its socket lost mid-body.
    reply.raw.once("close", () => inflight--);
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.duration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
  app.setNotFoundHandler((request, reply) => problem(reply, 404, "not_found", `no route ${request.method} ${request.url}`));
  // A foreign page can post text/plain, a form or multipart without a preflight: only JSON is a submit.
  app.removeContentTypeParser("text/plain");
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 415) return problem(reply, 415, "unsupported_media_type", "a meme is submitted as application/json");
    if (status >= 500) log.error({ err: error }, "request failed");
    return problem(reply, status, status >= 500 ? "internal" : "bad_request", status >= 500 ? "something went wrong on our side" : error.message);
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const why = deps.unready();
    return why === undefined ? { status: "ready" } : problem(reply, 503, "not_ready", why);
  });

  app.post("/api/memes", async (request, reply) => {
    const wait = limiter.take(request.ip);
    if (wait > 0) {
      reply.header("retry-after", String(wait));
      return problem(reply, 429, "rate_limited", `at most ${settings.rateLimitPerMinute} memes a minute per client; try again in ${wait} s`);
    }
    const parsed = parseRequest(request.body ?? null);
    if (!parsed.ok) return problem(reply, 400, "invalid_request", parsed.error);
    const req: NormalizedRequest = parsed.request;
    // Without Redis nothing is queued: the worker could not answer it, and the client is told to come back.
    if (redis.status !== "ready") return problem(reply, 503, "cache_unavailable", "Redis is not answering; try again shortly");
    const pending: Pending = { id: req.id, status: "queued", prompt: req.prompt, width: req.size, template: req.template, submittedAt: new Date().toISOString() };
    const message = { id: req.id, prompt: req.prompt, smallImage: req.size === 512, template: req.template };
    // The pending record and the publish do not wait on each other: a submit costs one round trip, not two.
    const [stored, published] = await Promise.allSettled([
      redis.memeStorePending(keys.pending(req.id), keys.recent, JSON.stringify(pending), settings.cacheTtl, req.id, RECENT_MAX - 1),
      js.publish(settings.requestSubject, JSON.stringify(message), { msgID: req.id }),
    ]);
    if (published.status === "rejected") {
      const error = published.reason as Error;
      log.warn({ err: error, id: req.id }, "publish failed");
      // Nothing will answer this id: no pending record, and off the wall's list (unless an earlier submit of it put them there).
      if (stored.status === "fulfilled" && stored.value === 1) await redis.memeForget(keys.pending(req.id), keys.recent, req.id).catch(() => undefined);
      return problem(reply, 503, "queue_unavailable", `the request queue did not take the meme: ${error.message}`);
    }
    metrics.published.inc();
    // Redis went away between the check and the write: the queue holds the meme and a worker answers it once Redis is back.
    if (stored.status === "rejected") log.warn({ err: stored.reason as Error, id: req.id }, "queued without its pending record");
    return reply.code(202).send({ id: req.id, status: "queued", links: { ...links(req.id), events: "/api/events" } });
  });

  /** The result, else the pending record, else nothing (never submitted, or expired). */
  async function view(id: string): Promise<View | undefined> {
    const [result, pending] = await redis.mget(keys.result(id), keys.pending(id));
    if (result) return { ...(JSON.parse(result) as MemeResult), ...(pending ? { prompt: (JSON.parse(pending) as Pending).prompt } : {}), links: links(id) };
    if (pending) return { ...(JSON.parse(pending) as Pending), links: links(id) };
    return undefined;
  }

  app.get<{ Params: { id: string } }>("/api/memes/:id", async (request, reply) => {
    const found = await view(request.params.id);
    return found ?? problem(reply, 404, "not_found", `no meme ${request.params.id}: it was never submitted or has expired`);
  });

  app.get<{ Params: { id: string } }>("/api/memes/:id/image.png", async (request, reply) => {
    const found = await view(request.params.id);
    if (!found) return problem(reply, 404, "not_found", `no meme ${request.params.id}: it was never submitted or has expired`);
    if (found.status === "queued") return problem(reply, 409, "not_ready", "the meme is still being made; wait for its result event");
    if (found.status === "failed") return problem(reply, 422, "failed", `the meme could not be made: ${found.error ?? "unknown reason"}`);
    const png = found.imageKey ? await redis.getBuffer(found.imageKey) : null;
    if (!png) return problem(reply, 410, "expired", "the image has expired from the cache; submit the meme again");
    return reply.type("image/png").header("cache-control", "private, max-age=300").send(png);
  });

  app.get("/api/memes", async () => {
    const ids = await redis.lrange(keys.recent, 0, RECENT_MAX - 1);
    const views = await Promise.all(ids.map(view));
    const expired = ids.filter((_, i) => views[i] === undefined);
    if (expired.length > 0) {
      const pipeline = redis.pipeline();
      for (const id of expired) pipeline.lrem(keys.recent, 0, id);
      await pipeline.exec();
    }
    return { memes: views.filter((v): v is View => v !== undefined) };
  });

  app.get("/api/stats", async () => ({ ...hub.stats(), burstMax: settings.burstMax }));
  app.get("/api/config", async () => ({ templates: templateNames, burstMax: settings.burstMax, promptMax: PROMPT_MAX }));

  // The web UI: a fixed set of files read once at start, so no request path ever reaches the file system.
  const publicDir = join(projectRoot(import.meta.url), "src", "frontend", "public");
  const types: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
  const assets = new Map(readdirSync(publicDir).filter((f) => types[extname(f)]).map((f) => [f, readFileSync(join(publicDir, f))]));
  app.get("/", async (_request, reply) => reply.type(types[".html"] as string).header("cache-control", "no-cache").send(assets.get("index.html")));
  app.get<{ Params: { file: string } }>("/assets/:file", async (request, reply) => {
    const body = assets.get(request.params.file);
    if (!body || request.params.file === "index.html") return problem(reply, 404, "not_found", `no asset ${request.params.file}`);
    return reply.type(types[extname(request.params.file)] as string).header("cache-control", "no-cache").send(body);
  });
  hub.subscribe((event) => {
    if (event.type !== "stats") return;
    metrics.queueLag.set(event.data.lag);
    metrics.workers.set(event.data.workers.length);
  });

  app.get("/api/events", (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 2000\n\n");
    const send = (type: string, data: unknown) => res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    send("stats", { ...hub.stats(), burstMax: settings.burstMax });
    const unsubscribe = hub.subscribe((event) => {
      if (event.type === "result") metrics.relayed.inc();
      send(event.type, event.type === "stats" ? { ...event.data, burstMax: settings.burstMax } : event.data);
    });
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15000);
    streams.add(reply);
    metrics.sseClients.set(streams.size);
    request.raw.on("close", () => {
      clearInterval(keepAlive);
      unsubscribe();
      streams.delete(reply);
      metrics.sseClients.set(streams.size);
    });
  });

  app.addHook("onClose", async () => {
    for (const reply of streams) reply.raw.end();
    streams.clear();
  });
  return app;
}
