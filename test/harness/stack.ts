// Pieces of the running system for integration tests: servers, the queue,
// and a listener that collects results as the frontend would.
import { pino } from "pino";
import { subjects } from "../../src/shared/contract.js";
import { guarded } from "../../src/shared/nats.js";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { eventually } from "./eventually.js";
import type { MemeResult } from "../../src/generated/messages.js";
import { provision } from "../../src/provision/provision.js";
import { freePort, startNats, startRedis, type NatsFlavour, type NatsServer, type RedisServer, type Teardown } from "./servers.js";

export interface Stack {
  nats: NatsServer;
  redis: RedisServer;
  nc: NatsConnection;
  jsm: JetStreamManager;
  env: Record<string, string>;
  results: Map<string, MemeResult>;
  /** Resolves when every id has a result, or rejects naming the missing ones. */
  waitForResults(ids: string[], timeoutMs?: number): Promise<MemeResult[]>;
  /** num_pending + num_ack_pending of the consumer: the lag KEDA reads. */
  lag(): Promise<number>;
  streamMessages(): Promise<number>;
}

export async function startStack(t: Teardown, flavour: NatsFlavour, extraEnv: Record<string, string> = {}): Promise<Stack> {
  const [nats, redis] = await Promise.all([startNats(t, flavour), startRedis(t)]);
  const env: Record<string, string> = {
    LOG_LEVEL: "silent",
    NATS_URL: nats.url,
    // Each subcommand connects as its own user (frontend, worker, provisioner), with its permissions.
    NATS_PASSWORD: nats.auth?.passwords.frontend ?? "",
    REDIS_URL: redis.url,
    REDIS_PASSWORD: redis.password,
    METRICS_PORT: String(await freePort()),
    NATS_ACK_WAIT: "5",
    ...extraEnv,
  };
  await provision(env);
  const nc = await connect({ ...nats.observer, maxReconnectAttempts: -1 });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const results = new Map<string, MemeResult>();
  nc.subscribe(`${subjects.response}.>`, {
    callback: guarded(pino({ level: "silent" }), "result", (msg) => {
      const result = msg.json<MemeResult>();
      results.set(result.id, result);
    }),
  });
  await nc.flush();
  return {
    nats,
    redis,
    nc,
    jsm,
    env,
    results,
    async waitForResults(ids, timeoutMs = 20000) {
      const missing = () => ids.filter((id) => !results.has(id));
      await eventually(() => missing().length === 0, { timeout: timeoutMs, what: `results for all ${ids.length} requests`, detail: () => `${missing().length} got none, e.g. ${missing().slice(0, 3).join(", ")}` });
      return ids.map((id) => results.get(id) as MemeResult);
    },
    async lag() {
      const info = await jsm.consumers.info("MEMES", "meme-generator");
      return info.num_pending + info.num_ack_pending;
    },
    async streamMessages() {
      return (await jsm.streams.info("MEMES")).state.messages;
    },
  };
}
