// `frontend`: the HTTP API, the event stream and the web UI. On SIGTERM it turns
// unready, keeps serving for SHUTDOWN_DELAY seconds while load balancers catch
// up, then closes the event streams, the server and its connections.
import { jetstream } from "@nats-io/jetstream";
import { setTimeout as sleep } from "node:timers/promises";
import { readEnv } from "../shared/env.js";
import { createLogger, logUnhandledRejections } from "../shared/log.js";
import { listenOn } from "../shared/listen.js";
import { connectCache, startWaiting } from "../shared/startup.js";
import { drainWithin, followConnection } from "../shared/nats.js";
import { roleOf } from "../shared/permissions.js";
import { commandVariables } from "../shared/variables.js";
import { buildApp, frontendMetrics } from "./app.js";
import { Hub } from "./hub.js";
import { parseTarget, ScalingView, type ScalingTargets } from "./scaling.js";
import { untilStopSignal } from "../shared/signals.js";

const variables = commandVariables.frontend;

export async function startFrontend(env: NodeJS.ProcessEnv = process.env, host = "0.0.0.0") {
  const v = readEnv(variables, env);
  const log = createLogger(v.LOG_LEVEL, "frontend");
  const metrics = frontendMetrics();
  // The metrics port answers first: alive, and unready with what it waits for, while NATS, the queue and Redis come.
  const { nc, jsm, probe, metricsServer } = await startWaiting(v, "meme-generator-frontend", log, roleOf.frontend, metrics.registry, host);

  const link = followConnection(nc);
  let stopping = false;

  const redis = await connectCache(v, "meme-generator-frontend", log);
  const hub = new Hub({ stream: v.NATS_STREAM, consumer: v.NATS_CONSUMER, responseSubject: v.NATS_RESPONSE_SUBJECT, cacheTtl: v.CACHE_TTL }, { nc, jsm, redis, log });
  hub.start();
  const scaling = new ScalingView(scalingTargets(v), () => {
    const stats = hub.stats();
    return { lag: stats.lag, workers: stats.workers.length, at: stats.at };
  }, "This frontend does not watch a cluster (SCALING_VIEW is off, as it is under npm start).", env);
  scaling.start();
  // Ready means a submit can succeed: NATS connected (its reader alive) and Redis answering, and not stopping.
  const unready = () => {
    if (stopping) return "shutting down";
    if (!link.connected() || nc.isClosed()) return "NATS is disconnected";
    if (redis.status !== "ready") return "Redis is not answering";
    return undefined;
  };
  const ready = () => unready() === undefined;
  const reason = () => unready() ?? "ready";
  const app = await buildApp(
    {
      requestSubject: v.NATS_REQUEST_SUBJECT,
      cacheTtl: v.CACHE_TTL,
      rateLimitPerMinute: v.RATE_LIMIT_PER_MINUTE,
      burstMax: v.BURST_MAX,
      maxInflight: v.MAX_INFLIGHT_REQUESTS,
      trustedProxyHops: v.TRUST_PROXY,
      requestTimeoutSeconds: v.REQUEST_TIMEOUT,
      maxEventStreams: v.MAX_EVENT_STREAMS,
    },
    { nc, js: jetstream(nc), redis, hub, scaling, log, unready },
    metrics,
  );
  try {
    await listenOn(app, v.PORT, host, "PORT");
  } catch (error) {
    // Nothing started may outlive a start that failed: the process must be able to exit.
    hub.stop();
    scaling.stop();
    await app.close();
    await metricsServer.close();
    await nc.close();
    redis.disconnect();
    throw error;
  }
  probe.serve({ ready, reason });
  const port = (app.server.address() as { port: number }).port;
  log.info({ port, metricsPort: v.METRICS_PORT }, `frontend listening on http://localhost:${port}`);

  const stop = async (delaySeconds = v.SHUTDOWN_DELAY) => {
    if (stopping) return;
    stopping = true;
    await sleep(delaySeconds * 1000);
    hub.stop();
    scaling.stop();
    await app.close();
    await metricsServer.close();
    await drainWithin(nc, 5000);
    redis.disconnect();
    log.info("frontend stopped");
  };
  return { app, hub, scaling, metrics, port, stop, ready, log };
}

/** The objects the scaling view follows, from the SCALING_* variables; undefined while it is off. */
function scalingTargets(v: ReturnType<typeof readEnv<typeof variables>>): ScalingTargets | undefined {
  if (!v.SCALING_VIEW) return undefined;
  const one = (object: string, variable: string, pods: string) => {
    const at = parseTarget(object, variable);
    return at ? { ...at, pods } : undefined;
  };
  const targets: ScalingTargets = {};
  const frontend = one(v.SCALING_FRONTEND_HPA, "SCALING_FRONTEND_HPA", v.SCALING_FRONTEND_PODS);
  const backend = one(v.SCALING_BACKEND_SCALEDOBJECT, "SCALING_BACKEND_SCALEDOBJECT", v.SCALING_BACKEND_PODS);
  const redis = one(v.SCALING_REDIS_VPA, "SCALING_REDIS_VPA", v.SCALING_REDIS_PODS);
  if (frontend) targets.frontend = frontend;
  if (backend) targets.backend = backend;
  if (redis) targets.redis = redis;
  return targets;
}

export async function runFrontend(): Promise<number> {
  const frontendProcess = await startFrontend();
  logUnhandledRejections(frontendProcess.log);
  await untilStopSignal();
  await frontendProcess.stop();
  return 0;
}
