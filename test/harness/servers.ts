// Throwaway servers for one test file, stopped at teardown: Debian's
// nats-server (2.9) and the current one the toolchain pins, and redis-server.
import { toolPath } from "../toolchain/toolchain.mjs";
import { binaryOnPath, MissingBinaryError, NatsServer, RedisServer } from "../../src/local/servers.js";

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

/** Starts a nats-server for this test and stops it (and removes its store) at teardown. */
export async function startNats(t: Teardown, flavour: NatsFlavour, options: { jetstream?: boolean } = {}): Promise<NatsServer> {
  const server = await NatsServer.create(natsBinary(flavour), options);
  t.teardown(() => server.destroy());
  await server.start();
  return server;
}

export async function startRedis(t: Teardown): Promise<RedisServer> {
  const server = await RedisServer.create();
  t.teardown(() => server.stop());
  await server.start();
  return server;
}
