// The frontend's HTTP API, built as one fastify app from its connections.
import fastifyRateLimit from "@fastify/rate-limit";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import helmet, { type HelmetOptions } from "helmet";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { MemeResult } from "../generated/messages.js";
import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { keys, PROMPT_MAX, RECENT_MAX, templateNames } from "../shared/contract.js";
import { fingerprint, parseRequest, type NormalizedRequest } from "../shared/messages.js";
import { projectRoot } from "../shared/project.js";
import type { Hub } from "./hub.js";
import type { ScalingView } from "./scaling.js";

export interface FrontendSettings {
  requestSubject: string;
  cacheTtl: number;
  rateLimitPerMinute: number;
  burstMax: number;
  maxInflight: number;
  /** Proxies in front whose X-Forwarded-For is believed; 0: the client is the socket's peer. */
  trustedProxyHops: number;
  /** Seconds a client has to send a whole request, headers and body. */
  requestTimeoutSeconds: number;
  /** Event streams one replica serves at once. */
  maxEventStreams: number;
}

export interface FrontendDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  redis: Redis;
  hub: Hub;
  /** The autoscalers as the Kubernetes API shows them, or why this replica does not watch them. */
  scaling: ScalingView;
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
 * The id's owner, the pending record and the wall's list in one atomic round trip: a script, sent by
 * its SHA1 once Redis knows it. A MULTI does the same, but ioredis builds a pipeline object per
 * transaction whose parts outlive V8's young-generation collections; at a few hundred requests a
 * second those collections then take several milliseconds each, and every request waiting meanwhile
 * pays for it. KEYS[1] owner, KEYS[2] pending, KEYS[3] the wall; ARGV[1] the request's fingerprint.
 * An id is the first request's: 1 when it is new (owner, record and wall written); 0 when the same
 * request had it already (a client's retry: nothing changes, and it is on the wall once); -1 when
 * another request owns it (nothing is written).
 */
const STORE_PENDING = `local owner = redis.call('GET', KEYS[1])
if owner then
  if owner == ARGV[1] then return 0 end
  return -1
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('LPUSH', KEYS[3], ARGV[4])
redis.call('LTRIM', KEYS[3], 0, ARGV[5])
return 1`;

/** The undoing of STORE_PENDING, for a meme the queue did not take: the id is free again. */
const FORGET = `redis.call('DEL', KEYS[1], KEYS[2])
redis.call('LREM', KEYS[3], 0, ARGV[1])
return 1`;

type WithScript = Redis & {
  memeStorePending(owner: string, pending: string, recent: string, fingerprint: string, record: string, ttl: number, id: string, last: number): Promise<number>;
  memeForget(owner: string, pending: string, recent: string, id: string): Promise<number>;
};

type View = (Pending | (MemeResult & { prompt?: string })) & { links: { self: string; image: string } };

/**
 * The security headers of every response: helmet's, with a policy that admits only the UI's own
 * files (its images are data: URLs of the memes). No Strict-Transport-Security: the frontend serves
 * plain HTTP and cannot know whether TLS ends in front of it; an Ingress that ends TLS sets it.
 */
export const HELMET: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      styleSrc: ["'self'"],
      scriptSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  },
  frameguard: { action: "deny" },
  referrerPolicy: { policy: "no-referrer" },
  crossOriginResourcePolicy: { policy: "same-origin" },
  strictTransportSecurity: false,
};

/**
 * The same headers as a plain list, taken from helmet once. Every answer gets them from this list:
 * the policy is the same for every request, so helmet's middleware need not run for each one.
 */
function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const collector = {
    setHeader: (name: string, value: string) => void (headers[name.toLowerCase()] = value),
    removeHeader: () => undefined,
  };
  helmet(HELMET)({} as IncomingMessage, collector as unknown as ServerResponse, () => undefined);
  return headers;
}

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

/** JetStream's refusals of a stream at its limit (discard new): maximum messages (10076), maximum bytes (10077). */
const STREAM_FULL_CODES = new Set([10076, 10077]);
/** A full stream drains at the workers' pace: a client comes back later than after a blip. */
const QUEUE_FULL_RETRY_SECONDS = 5;

function queueFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "number" && STREAM_FULL_CODES.has(code);
}

/** Every error of the API: `{error, message}`; a 503 always says when to come back. */
function problem(reply: FastifyReply, status: number, error: string, message: string) {
  if (status === 503 && !reply.hasHeader("retry-after")) reply.header("retry-after", "1");
  return reply.code(status).send({ error, message });
}

/** What Node's HTTP parser refuses before fastify sees a request, in the API's shape. */
const CLIENT_ERRORS: Record<string, [status: number, error: string, message: string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, "request_timeout", "the request did not arrive in time"],
  HPE_HEADER_OVERFLOW: [431, "headers_too_large", "the request line and headers are larger than 16 KiB"],
};

function clientErrorHandler(headers: Record<string, string>) {
  return (error: Error & { code?: string }, socket: Socket) => {
    // A reset or already closed connection has nobody to answer.
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const [status, code, message] = CLIENT_ERRORS[error.code ?? ""] ?? [400, "bad_request", "the request is not valid HTTP"];
    const body = JSON.stringify({ error: code, message });
    const lines = Object.entries({ ...headers, "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(body)), connection: "close" }).map(([k, v]) => `${k}: ${v}`);
    if (socket.writable) socket.write(`HTTP/1.1 ${status} ${code.replace(/_/g, " ")}\r\n${lines.join("\r\n")}\r\n\r\n${body}`);
    socket.destroy();
  };
}

const links = (id: string) => ({ self: `/api/memes/${id}`, image: `/api/memes/${id}/image.png` });

/** Paths that load shedding never refuses. */
const UNSHED = new Set(["/healthz", "/readyz"]);

export async function buildApp(settings: FrontendSettings, deps: FrontendDeps, metrics: FrontendMetrics): Promise<FastifyInstance> {
  const { js, hub, log } = deps;
  const redis = deps.redis as WithScript;
  redis.defineCommand("memeStorePending", { numberOfKeys: 3, lua: STORE_PENDING });
  redis.defineCommand("memeForget", { numberOfKeys: 3, lua: FORGET });
  // Per-request logs would drown everything else at demo rates: fastify logs warnings and errors only.
  const quiet = log.child({}, { level: log.isLevelEnabled("warn") ? "warn" : log.level });
  const headers = helmetHeaders();
  const timeout = settings.requestTimeoutSeconds * 1000;
  const app: FastifyInstance = Fastify({
    loggerInstance: quiet as FastifyBaseLogger,
    bodyLimit: 16 * 1024,
    // The client is the socket's peer unless that many proxies in front say otherwise: trusting every
    // hop would let any client name its own address in X-Forwarded-For (and so dodge the rate limit).
    trustProxy: settings.trustedProxyHops > 0 ? (_address: string, hop: number) => hop < settings.trustedProxyHops : false,
    // A client sending its headers or body slowly holds a connection and a slot: it has this long for
    // the whole request, checked every second (Node's default looks every 30 s).
    requestTimeout: timeout,
    http: { requestTimeout: timeout, headersTimeout: timeout, connectionsCheckingInterval: Math.min(1000, timeout) },
    clientErrorHandler: clientErrorHandler(headers),
    // A path the router cannot read (bad percent-encoding, a parameter over 100 characters): no hook has run.
    frameworkErrors: (error, _request, reply) => {
      const status = error.code === "FST_ERR_MAX_PARAM_LENGTH" ? 414 : 400;
      return problem(reply.headers(headers), status, status === 414 ? "uri_too_long" : "bad_request", status === 414 ? "a path segment is longer than 100 characters" : "the path is not a valid URL");
    },
  });
  // First, so that every answer has the security headers, a shed or refused one too.
  app.addHook("onRequest", async (_request, reply) => {
    reply.headers(headers);
  });
  if (settings.rateLimitPerMinute > 0) {
    await app.register(fastifyRateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) =>
        Object.assign(new Error(`at most ${context.max} memes a minute per client; try again in ${Math.max(1, Math.ceil(context.ttl / 1000))} s`), {
          statusCode: context.statusCode,
          code: "rate_limited",
        }),
    });
  }
  let inflight = 0;
  const streams = new Set<FastifyReply>();

  app.addHook("onRequest", async (request, reply) => {
    // Event streams are long by nature, and probes are never shed: a full frontend is still alive and says whether it is ready.
    if (request.url.startsWith("/api/events") || UNSHED.has(request.url)) return;
    if (inflight >= settings.maxInflight) return problem(reply, 503, "overloaded", "the frontend is at capacity; try again in a second");
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
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 415) return problem(reply, 415, "unsupported_media_type", "a meme is submitted as application/json");
    if (error.code === "rate_limited") return problem(reply, status, "rate_limited", error.message);
    if (status >= 500) log.error({ err: error }, "request failed");
    return problem(reply, status, status >= 500 ? "internal" : "bad_request", status >= 500 ? "something went wrong on our side" : error.message);
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const why = deps.unready();
    return why === undefined ? { status: "ready" } : problem(reply, 503, "not_ready", why);
  });

  // The limit counts every submit of a client address in a one-minute window, valid or not, before its body is read.
  const limited = settings.rateLimitPerMinute > 0 ? { config: { rateLimit: { max: settings.rateLimitPerMinute, timeWindow: 60_000 } } } : {};
  app.post("/api/memes", limited, async (request, reply) => {
    const parsed = parseRequest(request.body ?? null);
    if (!parsed.ok) return problem(reply, 400, "invalid_request", parsed.error);
    const req: NormalizedRequest = parsed.request;
    // Without Redis nothing is queued: the worker could not answer it, and the client is told to come back.
    if (redis.status !== "ready") return problem(reply, 503, "cache_unavailable", "Redis is not answering; try again shortly");
    const pending: Pending = { id: req.id, status: "queued", prompt: req.prompt, width: req.size, template: req.template, submittedAt: new Date().toISOString() };
    const message = { id: req.id, prompt: req.prompt, smallImage: req.size === 512, template: req.template };
    // The pending record and the publish do not wait on each other: a submit costs one round trip, not two.
    // A takeover that the queue takes meanwhile is refused by the worker, which checks the same owner.
    const [stored, published] = await Promise.allSettled([
      redis.memeStorePending(keys.owner(req.id), keys.pending(req.id), keys.recent, fingerprint(req), JSON.stringify(pending), settings.cacheTtl, req.id, RECENT_MAX - 1),
      js.publish(settings.requestSubject, JSON.stringify(message), { msgID: req.id }),
    ]);
    if (stored.status === "fulfilled" && stored.value === -1) {
      return problem(reply, 409, "id_taken", `id ${req.id} belongs to another request (another prompt, size or template); submit without an id to get a new one`);
    }
    if (published.status === "rejected") {
      const error = published.reason as Error;
      log.warn({ err: error, id: req.id }, "publish failed");
      // Nothing will answer this id: no owner, no pending record, and off the wall's list (unless an earlier submit of it put them there).
      if (stored.status === "fulfilled" && stored.value === 1) await redis.memeForget(keys.owner(req.id), keys.pending(req.id), keys.recent, req.id).catch(() => undefined);
      if (queueFull(error)) {
        reply.header("retry-after", String(QUEUE_FULL_RETRY_SECONDS));
        return problem(reply, 503, "queue_full", "the request queue is full (its byte limit): the workers are behind; try again in a few seconds");
      }
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
  app.get("/api/scaling", async () => deps.scaling.snapshot());
  app.get("/api/config", async () => ({ templates: templateNames, burstMax: settings.burstMax, promptMax: PROMPT_MAX, recentMax: RECENT_MAX }));

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
    if (streams.size >= settings.maxEventStreams) {
      return problem(reply, 503, "too_many_streams", `this replica serves ${settings.maxEventStreams} event streams at most; try again later or another replica`);
    }
    reply.hijack();
    const res = reply.raw;
    // Written on the socket's response itself: the security headers too.
    res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 2000\n\n");
    const send = (type: string, data: unknown) => res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    send("stats", { ...hub.stats(), burstMax: settings.burstMax });
    send("scaling", deps.scaling.snapshot());
    const unsubscribe = hub.subscribe((event) => {
      if (event.type === "result") metrics.relayed.inc();
      send(event.type, event.type === "stats" ? { ...event.data, burstMax: settings.burstMax } : event.data);
    });
    const unsubscribeScaling = deps.scaling.subscribe((update) => send("scaling", update));
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15000);
    streams.add(reply);
    metrics.sseClients.set(streams.size);
    request.raw.on("close", () => {
      clearInterval(keepAlive);
      unsubscribe();
      unsubscribeScaling();
      streams.delete(reply);
      metrics.sseClients.set(streams.size);
    });
  });

  // Before the server stops listening: close() waits for every open connection, and an event stream
  // never ends by itself, so onClose (which runs after that wait) would come too late.
  app.addHook("preClose", async () => {
    for (const reply of streams) reply.raw.end();
    streams.clear();
  });
  return app;
}
