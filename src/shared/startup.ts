// What the frontend and the worker both do at start: reach JetStream and make
// sure the queue exists (without changing one that does), and reach Redis.
import type { Logger } from "pino";
import { connectJetStream, type JetStreamConnection } from "./nats.js";
import { ensureQueue, queueSettingsOf } from "./queue.js";
import { connectRedis, redisReady } from "./redis.js";

type QueueVariables = Parameters<typeof queueSettingsOf>[0] & { NATS_URL: string[]; NATS_CONNECT_TIMEOUT: number };

export async function connectQueue(v: QueueVariables, name: string, log: Logger): Promise<JetStreamConnection> {
  const connection = await connectJetStream(v.NATS_URL, v.NATS_CONNECT_TIMEOUT, name);
  const report = await ensureQueue(connection.jsm, queueSettingsOf(v), false);
  if (report.stream === "created" || report.consumer === "created") log.info(report, "created the missing queue");
  if (report.changes.length > 0) log.warn({ changes: report.changes }, "the queue differs from this process's settings; provision reconciles it");
  return connection;
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
