import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { setTimeout as sleep } from "node:timers/promises";

export class NatsUnavailableError extends Error {
  override name = "NatsUnavailableError";
}

export interface JetStreamConnection {
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/** A NATS user and password; undefined connects without credentials. */
export interface NatsCredentials {
  user: string;
  pass: string;
}

/** The credentials of a subcommand: NATS_USER (else its own user) with NATS_PASSWORD, or none without a password. */
export function credentialsOf(v: { NATS_USER: string; NATS_PASSWORD: string }, ownUser: string): NatsCredentials | undefined {
  return v.NATS_PASSWORD ? { user: v.NATS_USER || ownUser, pass: v.NATS_PASSWORD } : undefined;
}

/**
 * Connects to NATS and checks that JetStream answers, retrying while the server
 * cannot be reached (it may still be starting) until `timeoutSeconds` pass. A
 * server that answers without JetStream, or refuses the credentials, fails at
 * once: waiting will not help.
 */
export async function connectJetStream(servers: string[], timeoutSeconds: number, name: string, credentials?: NatsCredentials): Promise<JetStreamConnection> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const where = servers.join(",");
  let lastError = "no attempt";
  while (Date.now() < deadline) {
    let nc: NatsConnection | undefined;
    try {
      // noAsyncTraces: errors keep their messages but skip capturing the caller's stack on every request,
      // which otherwise costs more CPU than anything else on a JetStream publish.
      nc = await connect({ servers, name, ...credentials, timeout: Math.min(5000, Math.max(500, deadline - Date.now())), maxReconnectAttempts: -1, noAsyncTraces: true });
      const jsm = await jetstreamManager(nc);
      return { nc, jsm };
    } catch (error) {
      if (nc) await nc.close().catch(() => undefined);
      // The client raises JetStreamNotEnabled ("jetstream is not enabled"), a class it does not export.
      if (error instanceof Error && /jetstream (is )?not enabled/i.test(error.message)) {
        throw new NatsUnavailableError(`NATS at ${where} answers but has no JetStream: start nats-server with -js (or enable jetstream in its config)`);
      }
      if (error instanceof Error && /authorization violation|authentication/i.test(error.message)) {
        const who = credentials ? `the user ${credentials.user} with the password in NATS_PASSWORD` : "a client without credentials (set NATS_PASSWORD, and NATS_USER if the user is not the subcommand's own)";
        throw new NatsUnavailableError(`NATS at ${where} refuses ${who}`);
      }
      lastError = error instanceof Error ? error.message : String(error);
      await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
    }
  }
  throw new NatsUnavailableError(`NATS at ${where} could not be reached within ${timeoutSeconds} s (last error: ${lastError})`);
}

/**
 * Whether a connection is connected now, followed from its status events: false from a disconnect
 * until the client has reconnected (while it reconnects, `isClosed()` is still false).
 */
export function followConnection(nc: NatsConnection): { connected(): boolean } {
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") connected = false;
      if (status.type === "reconnect") connected = true;
    }
  })();
  return { connected: () => connected };
}

/**
 * Drains the connection (what is buffered is sent, subscriptions end cleanly), but never waits more
 * than `timeoutMs`: while the server is away a drain would wait for it forever, and a stopping
 * process must still exit. Then the connection is closed either way.
 */
export async function drainWithin(nc: NatsConnection, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([nc.drain().catch(() => undefined), expired]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

/**
 * A subscription callback that nothing a message contains can break: a handler that throws, or
 * whose promise rejects, is logged, and the connection's reader goes on with the next message.
 */
export function guarded(log: Logger, what: string, handle: (msg: Msg) => void | Promise<void>): (error: Error | null, msg: Msg) => void {
  const report = (error: unknown, msg: Msg) => log.warn({ err: error, subject: msg.subject }, `${what}: message ignored`);
  return (error, msg) => {
    if (error) return;
    try {
      const pending = handle(msg);
      if (pending) pending.catch((failure: unknown) => report(failure, msg));
    } catch (failure) {
      report(failure, msg);
    }
  };
}
