// The worker's metrics keep the names of the original service, so dashboards and alerts carry over.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function workerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  return {
    registry,
    requests: counter("meme_generator_requests_total", "Requests taken from the queue"),
    success: counter("meme_generator_success_total", "Requests answered with an image"),
    errors: counter("meme_generator_errors_total", "Requests answered as failed, or returned to the queue after an error"),
    cacheHits: counter("meme_generator_cache_hits_total", "Requests served from the image cache"),
    cacheMisses: counter("meme_generator_cache_misses_total", "Requests that had to be rendered"),
    duration: new Histogram({
      name: "meme_generator_processing_duration_seconds",
      help: "Time from taking a request to answering it",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: "meme_generator_in_flight", help: "Requests held by this worker now", registers: [registry] }),
  };
}

export type WorkerMetrics = ReturnType<typeof workerMetrics>;
