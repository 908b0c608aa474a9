import type { Values } from "./generated/values.js";

/** A values file's view of T: any key may be left out, maps merge, lists replace, null deletes. */
export type Delta<T> = {
  [K in keyof T]?: T[K] extends unknown[] ? T[K] | null : T[K] extends object ? Delta<T[K]> | null : T[K] | null;
};

export interface Profile {
  name: string;
  /** One line for --list and the file's header. */
  summary: string;
  /** Only the differences from the chart's defaults. */
  values: Delta<Values>;
  /** Comments written above keys of the emitted file, by dotted path: why a value differs. */
  notes: Record<string, string>;
}
