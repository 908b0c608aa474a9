import { pino, type Logger } from "pino";

/** JSON logs on stdout, one object per line, as the cluster's log collectors expect. */
export function createLogger(level: string, component: string): Logger {
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime });
}
