// Kubernetes quantities, as far as the program and the values use them: CPU in
// cores or millicores, memory in bytes with binary (Ki, Mi, Gi, Ti) or decimal
// (k, M, G, T) suffixes. The one TypeScript reading of them; the chart's reading
// (the meme-generator.bytes helper) is held to the same table of cases
// (test/quantity-cases.json).

const memoryScale: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** Cores, or undefined when the value is not a CPU quantity. */
export function cpuCores(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  const milli = /^([0-9]+)m$/.exec(value);
  if (milli) return Number(milli[1]) / 1000;
  return /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : undefined;
}

/** Bytes, or undefined when the value is not a memory quantity. */
export function memoryBytes(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * (memoryScale[match[2] ?? ""] ?? 1);
}
