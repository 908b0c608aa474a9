// Throwaway servers for one test file, stopped at teardown: Debian's
// nats-server (2.9) and the current one the toolchain pins, and redis-server.
import { toolPath } from "../toolchain/toolchain.mjs";
import { randomBytes } from "node:crypto";
import { binaryOnPath, MissingBinaryError, natsPasswords, NatsServer, RedisServer } from "../../src/local/servers.js";

export { binaryOnPath, freePort, MissingBinaryError, NatsServer, RedisServer } from "../../src/local/servers.js";

/** What tap's `t` offers that the harness needs. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Which nats-server: Debian's packaged one (2.9) or the current one the toolchain pins. */
export type NatsFlavour = "debian" | "pinned";

export const natsFlavours: NatsFlavour[] = ["debian", "pinned"];

export function natsBinary(flavour: NatsFlavour): string {
  if (flavour === "debian") return binaryOnPath("nats-server", "apt-get install nats-server");
  try {
    return toolPath("nats-server");
  } catch (error) {
    throw new MissingBinaryError((error as Error).message);
  }
}

/**
 * Starts a nats-server for this test and stops it (and removes its store) at teardown. It has the
 * tiers' users and permissions, as every deployment does, with one password for all of them (a test's
 * processes share one env: `NATS_PASSWORD` is `server.auth.passwords.frontend`), and an observer that
 * may do anything; `auth: false` starts it without users.
 */
export async function startNats(t: Teardown, flavour: NatsFlavour, options: { jetstream?: boolean; auth?: boolean } = {}): Promise<NatsServer> {
  const auth = options.auth === false ? undefined : { passwords: natsPasswords(randomBytes(12).toString("hex")), observer: randomBytes(12).toString("hex") };
  const server = await NatsServer.create(natsBinary(flavour), { jetstream: options.jetstream, auth });
  t.teardown(() => server.destroy());
  await server.start();
  return server;
}

/** Starts a redis-server with a password of its own (as every deployment has) for this test; `password: false` starts one without. */
export async function startRedis(t: Teardown, options: { password?: boolean } = {}): Promise<RedisServer> {
  const server = await RedisServer.create({ password: options.password === false ? "" : randomBytes(12).toString("hex") });
  t.teardown(() => server.stop());
  await server.start();
  return server;
}
