// What the frontend and the worker both do at start: reach JetStream and make
// sure the queue exists (without changing one that does), and reach Redis.
import type { Logger } from "pino";
import { setTimeout as sleep } from "node:timers/promises";
import { connectJetStream, credentialsOf, NatsUnavailableError, type JetStreamConnection } from "./nats.js";
import { ensureQueue, missingOfQueue, queueSettingsOf } from "./queue.js";
import { connectRedis, redisReady } from "./redis.js";
import type { Registry } from "prom-client";
import { StartupProbe, startMetricsServer } from "./metrics-server.js";

type QueueVariables = Parameters<typeof queueSettingsOf>[0] & { NATS_URL: string[]; NATS_CONNECT_TIMEOUT: number; NATS_USER: string; NATS_PASSWORD: string };

/**
 * Connects as the subcommand's NATS user and makes sure the queue is there. Without credentials (a
 * NATS without users, such as a developer's own) a missing stream or consumer is created; with them
 * only the provisioner may create or change either, so the process waits for both, saying so every
 * 10 s, for up to NATS_CONNECT_TIMEOUT seconds, then stops with what is missing. `waiting` hears what
 * it waits for, for the readiness probe that answers meanwhile.
 */
export async function connectQueue(v: QueueVariables, name: string, log: Logger, ownUser: string, waiting?: (what: string) => void): Promise<JetStreamConnection> {
  const credentials = credentialsOf(v, ownUser);
  waiting?.(`connecting to NATS at ${v.NATS_URL.join(",")}`);
  const connection = await connectJetStream(v.NATS_URL, v.NATS_CONNECT_TIMEOUT, name, credentials);
  const settings = queueSettingsOf(v);
  if (credentials) {
    const deadline = Date.now() + v.NATS_CONNECT_TIMEOUT * 1000;
    let said = 0;
    for (;;) {
      const missing = await missingOfQueue(connection.jsm, settings);
      if (missing.length === 0) break;
      waiting?.(`waiting for ${missing.join(" and ")}, which only the provisioner creates`);
      if (Date.now() >= deadline) {
        await connection.nc.close();
        throw new NatsUnavailableError(`${missing.join(" and ")} still missing after ${v.NATS_CONNECT_TIMEOUT} s: only the provisioner creates them (meme-generator provision, the chart's provisioner Job)`);
      }
      if (Date.now() - said >= 10_000) {
        log.warn({ missing }, `waiting for ${missing.join(" and ")}: only the provisioner creates them`);
        said = Date.now();
      }
      await sleep(500);
    }
    return connection;
  }
  const report = await ensureQueue(connection.jsm, settings, false);
  if (report.stream === "created" || report.consumer === "created") log.info(report, "created the missing queue");
  if (report.changes.length > 0) log.warn({ changes: report.changes }, "the queue differs from this process's settings; provision reconciles it");
  return connection;
}

/**
 * What a tier does first: open its metrics port, so that it is alive and unready with what it waits
 * for while NATS and the queue come, then connect as in connectQueue. The probe says "connecting to
 * Redis" next, until the caller hands it the running process's probe.
 */
export async function startWaiting(v: QueueVariables & { METRICS_PORT: number }, name: string, log: Logger, ownUser: string, registry: Registry, host?: string) {
  const probe = new StartupProbe();
  const metricsServer = await startMetricsServer(v.METRICS_PORT, registry, probe, log, host);
  try {
    const connection = await connectQueue(v, name, log, ownUser, (what) => probe.waiting(what));
    probe.waiting("connecting to Redis");
    return { ...connection, probe, metricsServer };
  } catch (error) {
    await metricsServer.close();
    throw error;
  }
}

/**
 * A Redis client, after waiting up to 10 s for it: a process starts without Redis and answers 503s or pauses
 * until it comes. `batched` sends the commands of one event-loop turn together (see connectRedis).
 */
export async function connectCache(v: { REDIS_URL: string; REDIS_PASSWORD: string }, name: string, log: Logger, batched = false) {
  const redis = connectRedis(v.REDIS_URL, v.REDIS_PASSWORD, name, batched);
  redis.on("error", (error: Error) => log.debug({ err: error }, "redis"));
  if (!(await redisReady(redis, 10_000))) log.warn({ url: v.REDIS_URL }, "Redis is not answering yet; going on and retrying");
  return redis;
}
