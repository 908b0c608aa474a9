// Environment variables: one declaration per variable (rule, default, text),
// read and validated at start. A bad value stops the process with one line that
// names the variable and the rule.
import { memoryBytes } from "./quantity.js";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface Variable<T> {
  /** Human text for the environment table in docs/configuration.md. */
  readonly doc: string;
  /** The rule, as the error message states it. */
  readonly rule: string;
  /** Value used when the variable is unset or empty; absent means required. */
  readonly fallback?: T;
  /** Default as written in the environment table; defaults to `String(fallback)`. */
  readonly shownDefault?: string;
  /** Bounds of a number, and the choices of a list, for checks against the chart's schema. */
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  parse(raw: string): T | undefined;
}

type Values<S> = { [K in keyof S]: S[K] extends Variable<infer T> ? T : never };

export function string(doc: string, fallback?: string, pattern?: { re: RegExp; rule: string }): Variable<string> {
  return {
    doc,
    fallback,
    // Without a pattern only a required one can be wrong: by being empty.
    rule: pattern?.rule ?? (fallback === undefined ? "must not be empty" : "may be any text"),
    parse: (raw) => (pattern && !pattern.re.test(raw) ? undefined : raw),
  };
}

export function integer(doc: string, fallback: number | undefined, min: number, max: number): Variable<number> {
  return {
    doc,
    fallback,
    min,
    max,
    rule: `must be a whole number from ${min} to ${max}`,
    parse: (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) return undefined;
      const value = Number(raw);
      return value >= min && value <= max ? value : undefined;
    },
  };
}

export function boolean(doc: string, fallback: boolean): Variable<boolean> {
  return {
    doc,
    fallback,
    rule: "must be true or false",
    parse: (raw) => ({ true: true, false: false, "1": true, "0": false })[raw.trim().toLowerCase()],
  };
}

export function oneOf<const T extends string>(doc: string, fallback: T, choices: readonly T[]): Variable<T> {
  return {
    doc,
    fallback,
    choices,
    rule: `must be one of ${choices.join(", ")}`,
    parse: (raw) => choices.find((choice) => choice === raw.trim()),
  };
}

/** A comma-separated list of URLs with one of the given schemes. */
export function urls(doc: string, fallback: string, schemes: readonly string[]): Variable<string[]> {
  const rule = `must be a comma-separated list of ${schemes.map((s) => `${s}://`).join(" or ")} URLs`;
  return {
    doc,
    fallback: fallback.split(","),
    shownDefault: fallback,
    rule,
    parse: (raw) => {
      const list = raw.split(",").map((item) => item.trim()).filter(Boolean);
      const valid = list.length > 0 && list.every((item) => {
        try {
          const url = new URL(item);
          return schemes.includes(url.protocol.replace(/:$/, "")) && url.hostname !== "";
        } catch {
          return false;
        }
      });
      return valid ? list : undefined;
    },
  };
}

/** One URL with one of the given schemes. */
export function url(doc: string, fallback: string, schemes: readonly string[]): Variable<string> {
  const list = urls(doc, fallback, schemes);
  return {
    doc,
    fallback,
    rule: `must be a ${schemes.map((s) => `${s}://`).join(" or ")} URL`,
    parse: (raw) => {
      const parsed = list.parse(raw);
      return parsed?.length === 1 ? parsed[0] : undefined;
    },
  };
}

/** A byte size written as a Kubernetes quantity: 64Ki, 256Mi, 1.5Gi (binary) or 500k, 8M, 1G (decimal), a whole number of bytes. */
export function bytes(doc: string, fallback: string, min: number, max: number): Variable<number> {
  const parseSize = (raw: string) => {
    const value = memoryBytes(raw);
    return value !== undefined && Number.isInteger(value) ? value : undefined;
  };
  return {
    doc,
    fallback: parseSize(fallback),
    shownDefault: fallback,
    min,
    max,
    rule: `must be a size such as 64Ki, 256Mi or 1Gi, from ${min} to ${max} bytes`,
    parse: (raw) => {
      const value = parseSize(raw);
      return value !== undefined && value >= min && value <= max ? value : undefined;
    },
  };
}

/** Reads every declared variable; the first bad one throws a ConfigError naming it. */
export function readEnv<S extends Record<string, Variable<unknown>>>(specs: S, env: NodeJS.ProcessEnv = process.env): Values<S> {
  const result: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") {
      if (spec.fallback === undefined) throw new ConfigError(`${name} is required: it ${spec.rule}`);
      result[name] = spec.fallback;
      continue;
    }
    const value = spec.parse(raw);
    if (value === undefined) throw new ConfigError(`${name} ${spec.rule} (got ${JSON.stringify(raw)})`);
    result[name] = value;
  }
  return result as Values<S>;
}

export function shownDefault(spec: Variable<unknown>): string {
  if (spec.shownDefault !== undefined) return spec.shownDefault;
  return spec.fallback === undefined ? "(required)" : String(spec.fallback);
}
