// Values merge the way Helm merges values files: maps merge key by key, lists
// and scalars replace, and null deletes the key.

export type Plain = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Plain {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function helmMerge(base: Plain, overlay: Plain): Plain {
  const out: Plain = {};
  for (const key of new Set([...Object.keys(base), ...Object.keys(overlay)])) {
    const was = base[key];
    const value = key in overlay ? overlay[key] : was;
    if (value === null) continue;
    out[key] = key in overlay && isPlainObject(value) && isPlainObject(was) ? helmMerge(was, value) : structuredClone(value);
  }
  return out;
}

/** What `overlay` changes of `base`, as the smallest values file that does it. */
export function delta(base: Plain, overlay: Plain): Plain {
  const out: Plain = {};
  for (const [key, value] of Object.entries(overlay)) {
    const was = base[key];
    if (isPlainObject(value) && isPlainObject(was)) {
      const inner = delta(was, value);
      if (Object.keys(inner).length > 0) out[key] = inner;
    } else if (JSON.stringify(value) !== JSON.stringify(was)) {
      out[key] = value;
    }
  }
  for (const key of Object.keys(base)) if (!(key in overlay)) out[key] = null;
  return out;
}
