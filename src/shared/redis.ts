import { Redis } from "ioredis";

/**
 * A Redis client that fails fast while disconnected (no offline queue, one
 * retry per command) and keeps reconnecting in the background, so callers can
 * tell an outage from a slow answer and pause instead of piling up work.
 *
 * With `batched`, the commands issued within one turn of the event loop go to
 * Redis in one write and come back in one read (ioredis's auto-pipelining): for
 * a process that answers many requests at once, one system call per command
 * would otherwise cost more than the commands themselves.
 */
export function connectRedis(url: string, password: string, name: string, batched = false): Redis {
  return new Redis(url, {
    password: password || undefined,
    connectionName: name,
    enableAutoPipelining: batched,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}

/** Resolves true once the client is ready, or false after `timeoutMs` (the caller goes on and reports 503s meanwhile). */
export async function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === "ready") return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once("ready", onReady);
  });
}
