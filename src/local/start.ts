// `start` (npm start): the whole stack on one machine — provisioning, the
// frontend and one worker. It uses NATS and Redis at NATS_URL and REDIS_URL
// when they answer (NATS with JetStream); otherwise it starts its own on free
// ports in a temp folder, or says how to get them.
import { Redis } from "ioredis";
import { readEnv } from "../shared/env.js";
import { connectJetStream, credentialsOf, NatsUnavailableError, type NatsCredentials } from "../shared/nats.js";
import { roleOf } from "../shared/permissions.js";
import { commandVariables } from "../shared/variables.js";
import { binaryOnPath, freePort, natsPasswords, NatsServer, randomPassword, RedisServer } from "./servers.js";
import { untilStopSignal } from "../shared/signals.js";

const variables = commandVariables.start;

type Say = (line: string) => void;

/** Why NATS at the URL is not usable, or undefined when it is (connected, with JetStream). */
async function natsProblem(servers: string[], credentials: NatsCredentials | undefined): Promise<string | undefined> {
  try {
    const { nc } = await connectJetStream(servers, 2, "meme-generator-start-probe", credentials);
    await nc.close();
    return undefined;
  } catch (error) {
    return error instanceof NatsUnavailableError ? error.message : String(error);
  }
}

async function redisProblem(url: string, password: string): Promise<string | undefined> {
  const client = new Redis(url, { password: password || undefined, lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${url} does not answer (${(error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

export async function startLocal(env: NodeJS.ProcessEnv, say: Say) {
  const v = readEnv(variables, env);
  const own: (NatsServer | RedisServer)[] = [];
  const stopOwn = async () => {
    for (const server of own.reverse()) await (server instanceof NatsServer ? server.destroy() : server.stop());
  };
  const childEnv: Record<string, string | undefined> = { ...env };
  // Each tier connects as its own user; on a NATS given by NATS_URL, with the NATS_USER and NATS_PASSWORD given.
  const tierEnv = { provision: {}, backend: {}, frontend: {} } as Record<keyof typeof roleOf, Record<string, string>>;
  try {
    const natsIssue = await natsProblem(v.NATS_URL, credentialsOf(v, roleOf.provision));
    if (natsIssue) {
      const binary = binaryOnPath("nats-server", "apt-get install nats-server (or set NATS_URL to a NATS with JetStream)");
      const passwords = natsPasswords();
      const server = await NatsServer.create(binary, { auth: { passwords } });
      own.push(server);
      await server.start();
      childEnv.NATS_URL = server.url;
      childEnv.NATS_USER = "";
      for (const command of Object.keys(tierEnv) as (keyof typeof roleOf)[]) tierEnv[command] = { NATS_PASSWORD: passwords[roleOf[command]] };
      say(`${natsIssue}; started nats-server ${server.version} with JetStream at ${server.url} (store ${server.storeDir}), a user for each tier`);
      say(`the guide's user may publish requests: nats pub --server ${server.url} --user guide --password ${passwords.guide} meme.request '{"prompt":"hello"}'`);
    } else say(`using NATS at ${v.NATS_URL.join(",")}`);

    const redisIssue = await redisProblem(v.REDIS_URL, v.REDIS_PASSWORD);
    if (redisIssue) {
      binaryOnPath("redis-server", "apt-get install redis-server (or set REDIS_URL to a running Redis)");
      const server = await RedisServer.create({ password: randomPassword() });
      own.push(server);
      await server.start();
      childEnv.REDIS_URL = server.url;
      childEnv.REDIS_PASSWORD = server.password;
      say(`${redisIssue}; started redis-server at ${server.url} (no persistence, a password)`);
      say(`redis-cli -p ${server.port} -a ${server.password} --no-auth-warning ping; redis-benchmark -p ${server.port} -a ${server.password} -n 1000 -q`);
    } else say(`using Redis at ${v.REDIS_URL}`);

    const { provision } = await import("../provision/provision.js");
    const report = await provision({ ...childEnv, ...tierEnv.provision });
    say(`queue: stream ${report.stream}, consumer ${report.consumer}`);
    const { startBackend } = await import("../backend/main.js");
    const { startFrontend } = await import("../frontend/main.js");
    const backend = await startBackend({ ...childEnv, ...tierEnv.backend, METRICS_PORT: String(await freePort()) });
    let web: Awaited<ReturnType<typeof startFrontend>>;
    try {
      web = await startFrontend({ ...childEnv, ...tierEnv.frontend, METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY: "0" });
    } catch (error) {
      await backend.stop();
      throw error;
    }
    say(`meme-generator is running: open http://localhost:${web.port} (Ctrl-C stops everything)`);
    return {
      port: web.port,
      env: childEnv,
      async stop() {
        await web.stop(0);
        await backend.stop();
        await stopOwn();
      },
    };
  } catch (error) {
    await stopOwn();
    throw error;
  }
}

export async function runLocal(): Promise<number> {
  const say: Say = (line) => process.stderr.write(`start: ${line}\n`);
  const stack = await startLocal(process.env, say);
  await untilStopSignal();
  say("stopping");
  await stack.stop();
  return 0;
}
