// /metrics, /healthz and /readyz on a port of their own (METRICS_PORT), so that
// scrapes and probes never queue behind application traffic.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { listenOn } from "./listen.js";

export interface Probe {
  /** False while the process cannot do its work (NATS or Redis away, or shutting down). */
  ready(): boolean;
  /** Why not ready, for the /readyz body. */
  reason(): string;
}

export async function startMetricsServer(port: number, registry: Registry, probe: Probe, log: Logger, host = "0.0.0.0"): Promise<FastifyInstance> {
  const quiet = log.child({ server: "metrics" }, { level: log.isLevelEnabled("warn") ? "warn" : log.level });
  const app: FastifyInstance = Fastify({ loggerInstance: quiet as FastifyBaseLogger });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    if (probe.ready()) return { status: "ready" };
    return reply.code(503).header("retry-after", "1").send({ status: "not ready", reason: probe.reason() });
  });
  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
  await listenOn(app, port, host, "METRICS_PORT");
  return app;
}

/**
 * The probe of a process that starts its metrics server before anything else, so that liveness holds
 * while it waits for NATS and the queue: unready with what it waits for until `serve` hands over to
 * the probe of the running process.
 */
export class StartupProbe implements Probe {
  private waitingFor = "starting";
  private running?: Probe;
  waiting(what: string): void {
    this.waitingFor = what;
  }
  serve(probe: Probe): void {
    this.running = probe;
  }
  ready(): boolean {
    return this.running?.ready() ?? false;
  }
  reason(): string {
    return this.running ? this.running.reason() : this.waitingFor;
  }
}
