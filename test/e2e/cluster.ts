// What the end-to-end suites share: a control plane started for one test file
// (stopped at its teardown, its logs kept in .artifacts/e2e/<name>/ when a test
// failed), the real CRDs installed, Helm 3 and Helm 4 with homes of their own,
// namespaces with Pod Security `restricted` enforced and warned.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { parseAllDocuments } from "yaml";
import { repoPath } from "../../generator/schema.js";
import { toolPath } from "../toolchain/toolchain.mjs";
import { ControlPlane, runCommand, type Command, type ControlPlaneOptions } from "./controlplane.js";

export type Helm = "helm3" | "helm4";
export type Ref = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> } };

/** The optional APIs whose CRDs are installed, for `helm template` (which cannot ask the cluster). */
export const apis = ["keda.sh/v1alpha1/ScaledObject", "autoscaling.k8s.io/v1/VerticalPodAutoscaler", "redis.redis.opstreelabs.in/v1beta2/Redis", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PodMonitor", "monitoring.coreos.com/v1/PrometheusRule"];
export const restricted = { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted" };
export const release = "meme-generator";

export function describe(objects: Ref[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`).sort();
}

export function parse(manifest: string): Ref[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as Ref | null)
    .filter((o): o is Ref => Boolean(o?.kind));
}

/** Shows a failed command in full. */
export function shown(what: string, result: Command): string {
  return `${what} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** Passes when the command exited 0; its output is shown only when it did not. */
export function succeeded(t: Test, result: Command, what: string): boolean {
  return t.equal(result.code, 0, what, { stdout: result.stdout.slice(-4000), stderr: result.stderr.slice(-4000) });
}

/** The values that select a profile, and the same Pod Security levels on the namespaces the chart creates. */
export function profileArgs(profile: string): string[] {
  const args = profile === "default" ? [] : ["-f", repoPath(`chart/profiles/${profile}.yaml`)];
  for (const [key, value] of Object.entries(restricted)) args.push("--set", `namespaces.create.labels.${key.replace(/\./g, "\\.")}=${value}`);
  return args;
}

export class Cluster {
  readonly plane: ControlPlane;
  private readonly helmHome: string;
  private constructor(plane: ControlPlane, helmHome: string) {
    this.plane = plane;
    this.helmHome = helmHome;
  }

  /**
   * Starts a control plane for the test file `t`, installs the CRDs of `crds` and waits until they are
   * established. `name` names the folder of the logs.
   */
  static async start(t: Test, name: string, crds: string, options: ControlPlaneOptions): Promise<Cluster> {
    const plane = await ControlPlane.start(options);
    const cluster = new Cluster(plane, mkdtempSync(join(tmpdir(), "meme-generator-helm-")));
    t.teardown(async () => {
      if (t.counts.fail > 0) plane.keepLogs(repoPath(`.artifacts/e2e/${name}`));
      await plane.stop();
      rmSync(cluster.helmHome, { recursive: true, force: true });
    });
    const files = readdirSync(crds).filter((f) => f.endsWith(".yaml"));
    const applied = await plane.kubectl(["apply", "--server-side", ...files.flatMap((f) => ["-f", join(crds, f)])]);
    if (applied.code !== 0) throw new Error(shown("kubectl apply (CRDs)", applied));
    const established = await plane.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
    if (established.code !== 0) throw new Error(shown("kubectl wait (CRDs)", established));
    return cluster;
  }

  kubectl(args: string[], input?: string): Promise<Command> {
    return this.plane.kubectl(args, input);
  }

  helm(which: Helm, args: string[]): Promise<Command> {
    return runCommand(toolPath(which), args, {
      KUBECONFIG: this.plane.kubeconfig,
      HELM_CACHE_HOME: join(this.helmHome, which, "cache"),
      HELM_CONFIG_HOME: join(this.helmHome, which, "config"),
      HELM_DATA_HOME: join(this.helmHome, which, "data"),
    });
  }

  /** Creates (when missing) a namespace with Pod Security `restricted` enforced and warned. */
  async namespace(name: string): Promise<void> {
    const created = await this.kubectl(["create", "namespace", name]);
    if (created.code !== 0 && !created.stderr.includes("AlreadyExists")) throw new Error(shown(`create namespace ${name}`, created));
    const labelled = await this.kubectl(["label", "namespace", name, "--overwrite", ...Object.entries(restricted).map(([k, v]) => `${k}=${v}`)]);
    if (labelled.code !== 0) throw new Error(shown(`label namespace ${name}`, labelled));
  }

  /** Objects of `objects` that the API server has, by name. */
  async present(objects: Ref[]): Promise<string[]> {
    if (objects.length === 0) return [];
    const manifest = objects.map((o) => JSON.stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } })).join("\n---\n");
    const got = await this.kubectl(["get", "--ignore-not-found", "-o", "json", "-f", "-"], manifest);
    if (got.code !== 0) throw new Error(shown("kubectl get -f", got));
    if (!got.stdout.trim()) return [];
    const list = JSON.parse(got.stdout) as { items?: Ref[] } & Ref;
    return describe(list.items ?? [list]);
  }

  /** Reads one object or list as JSON. */
  async get<T>(args: string[]): Promise<T> {
    const got = await this.kubectl(["get", ...args, "-o", "json"]);
    if (got.code !== 0) throw new Error(shown(`kubectl get ${args.join(" ")}`, got));
    return JSON.parse(got.stdout) as T;
  }
}

/** Runs a test file's suite with the folder of the real CRDs (CRDS_DIR), or fails the file without it. */
export async function withCrds(suite: (crds: string) => Promise<void>): Promise<void> {
  const crds = process.env.CRDS_DIR;
  if (!crds) {
    t.fail("CRDS_DIR is not set: point it at the folder of the KEDA, VPA, redis-operator and prometheus-operator CRDs");
    t.end();
    return;
  }
  await suite(crds);
}
