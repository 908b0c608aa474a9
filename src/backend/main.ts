// `backend`: the worker process. Runs until SIGTERM or SIGINT, then hands back
// what it holds and exits 0.
import { jetstream } from "@nats-io/jetstream";
import { readEnv } from "../shared/env.js";
import { createLogger, logUnhandledRejections } from "../shared/log.js";
import { connectCache, startWaiting } from "../shared/startup.js";
import { drainWithin } from "../shared/nats.js";
import { roleOf } from "../shared/permissions.js";
import { commandVariables } from "../shared/variables.js";
import { workerMetrics } from "./metrics.js";
import { RenderPool, usableCpus } from "./render/pool.js";
import { Worker } from "./worker.js";
import { untilStopSignal } from "../shared/signals.js";

const variables = commandVariables.backend;

export async function startBackend(env: NodeJS.ProcessEnv = process.env) {
  // Where a cold start goes, in ms: Node and the modules (from the process's start), then each connect.
  let mark = performance.now();
  const startupMs: Record<string, number> = { modules: Math.round(mark) };
  const took = (phase: string) => {
    const now = performance.now();
    startupMs[phase] = Math.round(now - mark);
    mark = now;
  };
  const v = readEnv(variables, env);
  const log = createLogger(v.LOG_LEVEL, "backend");
  const metrics = workerMetrics();
  // The metrics port answers first: alive, and unready with what it waits for, while NATS, the queue and Redis come.
  const { nc, probe, metricsServer: server } = await startWaiting(v, "meme-generator-backend", log, roleOf.backend, metrics.registry);
  took("nats");
  // A worker checks the cache for every request it holds, many at a time while they hit: batched.
  const redis = await connectCache(v, "meme-generator-backend", log, true);
  took("redis");
  const pool = new RenderPool(v.RENDER_THREADS || usableCpus());
  const worker = new Worker(
    {
      stream: v.NATS_STREAM,
      consumer: v.NATS_CONSUMER,
      responseSubject: v.NATS_RESPONSE_SUBJECT,
      concurrency: v.WORKER_CONCURRENCY,
      cacheTtl: v.CACHE_TTL,
      ackWaitSeconds: v.NATS_ACK_WAIT,
      shutdownTimeoutSeconds: v.SHUTDOWN_TIMEOUT,
      retryDelayMs: 2000,
    },
    { nc, js: jetstream(nc), redis, pool, metrics, log },
  );
  try {
    await worker.start();
  } catch (error) {
    // Nothing started may outlive a start that failed: the process must be able to exit.
    await server.close();
    await pool.close();
    await nc.close();
    redis.disconnect();
    throw error;
  }
  took("consumer");
  probe.serve(worker);
  log.info({ workerId: worker.id, concurrency: v.WORKER_CONCURRENCY, renderThreads: pool.size, metricsPort: v.METRICS_PORT, startupMs }, "worker started");

  const stop = async () => {
    await worker.stop();
    await server.close();
    await pool.close();
    await drainWithin(nc, 5000);
    redis.disconnect();
    log.info({ workerId: worker.id }, "worker stopped");
  };
  return { worker, metrics, server, stop, log };
}

/** Runs until a signal; resolves with the exit code. */
export async function runBackend(): Promise<number> {
  const backend = await startBackend();
  logUnhandledRejections(backend.log);
  await untilStopSignal();
  await backend.stop();
  return 0;
}
