// `move-data`: what an upgrade that puts NATS or Redis somewhere else (another namespace or name)
// would lose, carried over. The chart runs it twice. Before the upgrade (`keep`), it marks the old
// tiers' objects so that Helm leaves them standing, and lets its own pods through the old tiers'
// NetworkPolicies. After the upgrade (`move`), it waits until no pod of the release still talks to
// the old tiers, copies every key of the old Redis that the new one lacks (the pending records, the
// results and images, the wall's list merged), moves the requests still in the old stream to the new
// one under their own ids (a client's retry of one is stored once), and deletes the old objects.
import { jetstream, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { Redis } from "ioredis";
import { setTimeout as sleep } from "node:timers/promises";
import { keys, RECENT_MAX } from "../shared/contract.js";
import { readEnv } from "../shared/env.js";
import { Kube, kubeAccess } from "../shared/kube.js";
import { createLogger } from "../shared/log.js";
import { connectJetStream, credentialsOf } from "../shared/nats.js";
import { roleOf } from "../shared/permissions.js";
import { connectRedis, redisReady } from "../shared/redis.js";
import { commandVariables } from "../shared/variables.js";

const variables = commandVariables["move-data"];

/** What copying the old Redis did: keys copied, keys the new one had already (left as they are), lists merged. */
export interface CacheCopy {
  copied: number;
  present: number;
  merged: number;
  /** Keys that expired between the scan and the copy. */
  expired: number;
}

/**
 * Copies every key of `from` that `to` lacks, with its remaining time to live, by type (strings,
 * hashes, sets and sorted sets as their values; DUMP and RESTORE carry the producer's RDB version, which
 * an older Redis refuses, so they serve only for other types). A key `to` has already is newer there
 * (written since the upgrade) and stays; a list both have (the wall of recent memes) gets the old
 * entries it lacks appended, oldest last, and the wall stays at RECENT_MAX.
 */
export async function copyCache(from: Redis, to: Redis): Promise<CacheCopy> {
  const result: CacheCopy = { copied: 0, present: 0, merged: 0, expired: 0 };
  let cursor = "0";
  do {
    const [next, found] = await from.scanBuffer(cursor, "COUNT", 500);
    cursor = String(next);
    for (const key of found) {
      const [type, ttl] = await Promise.all([from.type(key), from.pttl(key)]);
      if (type === "none" || ttl === -2) {
        result.expired++;
        continue;
      }
      if (type === "list" && (await to.exists(key)) === 1) {
        const [had, old] = await Promise.all([to.lrangeBuffer(key, 0, -1), from.lrangeBuffer(key, 0, -1)]);
        const missing = old.filter((item) => !had.some((h) => h.equals(item)));
        if (missing.length > 0) await to.rpush(key, ...missing);
        if (key.toString() === keys.recent) await to.ltrim(key, 0, RECENT_MAX - 1);
        result.merged++;
        continue;
      }
      const copied = await copyKey(from, to, key, type, ttl);
      if (copied === undefined) result.expired++;
      else if (copied) result.copied++;
      else result.present++;
    }
  } while (cursor !== "0");
  return result;
}

/** One key of `type` into `to` unless it has one: true copied, false present, undefined gone meanwhile. */
async function copyKey(from: Redis, to: Redis, key: Buffer, type: string, ttl: number): Promise<boolean | undefined> {
  const expiry = ttl > 0 ? (["PX", ttl] as const) : ([] as const);
  if (type === "string") {
    const value = await from.getBuffer(key);
    if (value === null) return undefined;
    // NX: only where the new Redis has nothing of that name, in one command.
    return (await to.set(key, value, ...(expiry as ["PX", number]), "NX")) === "OK";
  }
  if ((await to.exists(key)) === 1) return false;
  if (type === "hash") {
    const value = await from.hgetallBuffer(key);
    if (Object.keys(value).length === 0) return undefined;
    await to.hset(key, value);
  } else if (type === "list") {
    const value = await from.lrangeBuffer(key, 0, -1);
    if (value.length === 0) return undefined;
    await to.rpush(key, ...value);
  } else if (type === "set") {
    const value = await from.smembersBuffer(key);
    if (value.length === 0) return undefined;
    await to.sadd(key, ...value);
  } else if (type === "zset") {
    const value = await from.zrangeBuffer(key, 0, -1, "WITHSCORES");
    if (value.length === 0) return undefined;
    await to.zadd(key, ...value.map((v, i) => (i % 2 === 0 ? (value[i + 1] as Buffer).toString() : (value[i - 1] as Buffer))));
  } else {
    const dump = await from.dumpBuffer(key);
    if (dump === null) return undefined;
    try {
      await to.restore(key, 0, dump);
    } catch (error) {
      if (error instanceof Error && /BUSYKEY/.test(error.message)) return false;
      throw error;
    }
  }
  if (ttl > 0) await to.pexpire(key, ttl);
  return true;
}

/**
 * Moves every message of the old stream to `subject` through `to`, each published under its
 * Nats-Msg-Id (the request's id) and deleted from the old stream once the new one has stored it.
 * Passes over the stream until it is empty (a message published during a pass is taken by the
 * next); at most `passes` passes. Returns how many moved.
 */
export async function moveQueue(from: JetStreamManager, stream: string, to: JetStreamClient, subject: string, passes = 10): Promise<number> {
  let moved = 0;
  for (let pass = 0; pass < passes; pass++) {
    const { state } = await from.streams.info(stream);
    if (state.messages === 0) return moved;
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const message = await from.streams.getMessage(stream, { seq }).catch((error: unknown) => {
        // A sequence acknowledged (and so removed) before this read.
        if (error instanceof Error && /no message found/i.test(error.message)) return null;
        throw error;
      });
      if (!message) continue;
      const id = message.header?.get("Nats-Msg-Id");
      await to.publish(subject, message.data, { ...(id ? { msgID: id } : {}), ...(message.header ? { headers: message.header } : {}) });
      await from.streams.deleteMessage(stream, seq, false);
      moved++;
    }
  }
  const { state } = await from.streams.info(stream);
  if (state.messages > 0) throw new Error(`the old stream ${stream} still holds ${state.messages} messages after ${passes} passes: something still publishes to it`);
  return moved;
}

interface PodObject {
  metadata: { name: string; namespace?: string };
  spec: { containers: { env?: { name: string; value?: string }[] }[] };
  status?: { phase?: string };
}

/** The pods among `pods` still running (or about to) with one of the old endpoints in their containers' env; a finished Job's pod is not. */
export function oldClients(pods: PodObject[], endpoints: { nats?: string; redis?: string }): string[] {
  const old = (name: string, value?: string) => (name === "NATS_URL" && endpoints.nats !== undefined && value === endpoints.nats) || (name === "REDIS_URL" && endpoints.redis !== undefined && value === endpoints.redis);
  return pods
    .filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed")
    .filter((p) => p.spec.containers.some((c) => (c.env ?? []).some((e) => old(e.name, e.value))))
    .map((p) => `${p.metadata.namespace ?? ""}/${p.metadata.name}`);
}

/** Parses a JSON list of strings from a variable, naming it when it is not one. */
function stringList(name: string, raw: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw || "[]");
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === "string")) throw new MoveError(`${name} must be a JSON list of strings, got ${JSON.stringify(raw)}`);
  return parsed as string[];
}

export class MoveError extends Error {
  override name = "MoveError";
}

/** The annotation Helm reads on an object it would delete: with it, the object stays. */
export const KEEP = { "helm.sh/resource-policy": "keep" };

/**
 * Before the upgrade: every old object gets Helm's keep annotation (one that is not there is
 * skipped), and each old NetworkPolicy one more ingress rule, from the pods `peer` selects.
 */
export async function keepOldTiers(env: NodeJS.ProcessEnv = process.env, kube = new Kube(kubeAccess(env))): Promise<{ kept: string[]; admitted: string[] }> {
  const v = readEnv(variables, env);
  const log = createLogger(v.LOG_LEVEL, "move-data");
  const objects = stringList("MOVE_OBJECTS", v.MOVE_OBJECTS);
  const policies = stringList("MOVE_POLICIES", v.MOVE_POLICIES);
  const kept: string[] = [];
  for (const path of objects) {
    if (!(await kube.find(path))) continue;
    await kube.patch(path, { metadata: { annotations: KEEP } });
    kept.push(path);
  }
  const admitted: string[] = [];
  const peer = JSON.parse(v.MOVE_PEER || "{}") as object;
  for (const path of policies) {
    if (!(await kube.find(path))) continue;
    await kube.patch(path, [{ op: "add", path: "/spec/ingress/-", value: { from: [peer] } }]);
    admitted.push(path);
  }
  log.info({ kept, admitted }, `kept ${kept.length} objects of the old tiers through the upgrade; ${admitted.length} NetworkPolicies admit the move`);
  return { kept, admitted };
}

export interface MoveReport {
  waitedSeconds: number;
  cache?: CacheCopy;
  moved?: number;
  removed: string[];
}

/**
 * After the upgrade: wait for the old revision's pods to stop, copy the cache, move the queue, delete
 * the old objects. Pods that still use an old tier after MOVE_WAIT stop the move before it begins.
 */
export async function moveData(env: NodeJS.ProcessEnv = process.env, kube = new Kube(kubeAccess(env))): Promise<MoveReport> {
  const v = readEnv(variables, env);
  const log = createLogger(v.LOG_LEVEL, "move-data");
  const objects = stringList("MOVE_OBJECTS", v.MOVE_OBJECTS);
  const namespaces = stringList("MOVE_NAMESPACES", v.MOVE_NAMESPACES);
  const endpoints: { nats?: string; redis?: string } = { ...(v.MOVE_FROM_NATS_URL ? { nats: v.MOVE_FROM_NATS_URL } : {}), ...(v.MOVE_FROM_REDIS_URL ? { redis: v.MOVE_FROM_REDIS_URL } : {}) };
  // An old tier whose workload is gone (an upgrade ran without the hooks that keep it) has nothing left to move.
  for (const [tier, workload] of [["nats", v.MOVE_FROM_NATS_OBJECT], ["redis", v.MOVE_FROM_REDIS_OBJECT]] as const) {
    if (endpoints[tier] && workload && !(await kube.find(workload))) {
      log.warn({ workload }, `the old ${tier === "nats" ? "NATS" : "Redis"} is gone (${workload}): nothing of it to move`);
      endpoints[tier] = undefined;
    }
  }

  // A pod of the old revision may still be finishing what it holds: it writes to the old tiers until it stops.
  const started = Date.now();
  let stragglers: string[];
  for (;;) {
    const pods = (await Promise.all(namespaces.map((ns) => kube.list<PodObject>(`/api/v1/namespaces/${ns}/pods`, v.MOVE_PODS)))).flat();
    stragglers = oldClients(pods, endpoints);
    if (stragglers.length === 0 || Date.now() - started >= v.MOVE_WAIT * 1000) break;
    await sleep(1000);
  }
  const waitedSeconds = (Date.now() - started) / 1000;
  // Moving while they still write would lose what they write after: nothing moves, nothing is deleted.
  if (stragglers.length > 0) throw new MoveError(`${stragglers.join(", ")} still use the old tiers after ${v.MOVE_WAIT} s: nothing moved and the old tiers stay; once they have stopped, run the same helm upgrade again`);
  const report: MoveReport = { waitedSeconds, removed: [] };

  if (endpoints.redis) {
    const from = connectRedis(endpoints.redis, v.MOVE_FROM_REDIS_PASSWORD, "meme-generator-move-data");
    const to = connectRedis(v.REDIS_URL, v.REDIS_PASSWORD, "meme-generator-move-data");
    try {
      for (const [client, where] of [[from, endpoints.redis], [to, v.REDIS_URL]] as const) {
        if (!(await redisReady(client, v.NATS_CONNECT_TIMEOUT * 1000))) throw new MoveError(`Redis at ${where} did not answer within ${v.NATS_CONNECT_TIMEOUT} s`);
      }
      report.cache = await copyCache(from, to);
      log.info(report.cache, `copied ${report.cache.copied} keys from the old Redis (${report.cache.present} already in the new one, ${report.cache.merged} lists merged)`);
    } finally {
      from.disconnect();
      to.disconnect();
    }
  }

  if (endpoints.nats) {
    const from = await connectJetStream([endpoints.nats], v.NATS_CONNECT_TIMEOUT, "meme-generator-move-data", v.MOVE_FROM_NATS_PASSWORD ? { user: v.MOVE_FROM_NATS_USER, pass: v.MOVE_FROM_NATS_PASSWORD } : undefined);
    try {
      const to = await connectJetStream(v.NATS_URL, v.NATS_CONNECT_TIMEOUT, "meme-generator-move-data", credentialsOf(v, roleOf.frontend));
      try {
        report.moved = await moveQueue(from.jsm, v.MOVE_FROM_STREAM, jetstream(to.nc), v.NATS_REQUEST_SUBJECT);
        log.info({ moved: report.moved }, `moved ${report.moved} queued requests from the old stream ${v.MOVE_FROM_STREAM} to ${v.NATS_REQUEST_SUBJECT}`);
      } finally {
        await to.nc.close();
      }
    } finally {
      await from.nc.close();
    }
  }

  for (const path of objects) if (await kube.delete(path)) report.removed.push(path);
  log.info({ removed: report.removed }, `removed ${report.removed.length} objects of the old tiers`);
  // Done: the next upgrade has nothing to move again.
  if (v.MOVE_LAYOUT) await kube.patch(v.MOVE_LAYOUT, { data: { pendingMove: null } });
  return report;
}

export async function moveDataCommand(args: string[]): Promise<number> {
  const [phase] = args;
  if (phase === "keep") {
    await keepOldTiers();
    return 0;
  }
  if (phase === "move") {
    await moveData();
    return 0;
  }
  console.error(`meme-generator move-data: say keep (before the upgrade) or move (after it), got ${JSON.stringify(phase ?? "")}`);
  return 2;
}
