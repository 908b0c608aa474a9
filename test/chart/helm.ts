// Rendering this repository's chart in tests, by either Helm line.
import { spawnSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { repoPath } from "../../generator/schema.js";
import { toolPath } from "../toolchain/toolchain.mjs";

export type HelmLine = "helm3" | "helm4";

/** `helm template <release> chart <args>`: its exit status, output and errors. */
export function helmTemplate(args: string[], helm: HelmLine = "helm3", release = "m") {
  return spawnSync(toolPath(helm), ["template", release, repoPath("chart"), ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/** The objects a render gives; a render that fails throws with Helm's message. */
export function renderedObjects<T>(args: string[], helm: HelmLine = "helm3", release = "m"): T[] {
  const out = helmTemplate(args, helm, release);
  if (out.status !== 0) throw new Error(`${helm} template ${args.join(" ")}: ${out.stderr}`);
  return parseAllDocuments(out.stdout)
    .map((doc) => doc.toJS() as T | null)
    .filter((o): o is T => o !== null);
}
