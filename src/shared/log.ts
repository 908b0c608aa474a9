import { pino, type Logger } from "pino";

/** JSON logs on stdout, one object per line, as the cluster's log collectors expect. */
export function createLogger(level: string, component: string): Logger {
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime });
}

/**
 * A long-running process logs a promise that nobody handled and keeps serving: one bad message must
 * not take a tier down. (Handlers catch their own errors; this is the net under them.)
 */
export function logUnhandledRejections(log: Logger): void {
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled rejection; still serving"));
}
