// The chart against a real kube-apiserver (with etcd, the real CRDs installed,
// Pod Security `restricted` enforced and warned on every namespace we use):
// every profile installs with Helm 3 and Helm 4, what `helm template` renders
// passes `kubectl apply --dry-run=server --validate=strict` without a warning,
// an upgrade from the default profile to the demo profile and every uninstall
// are clean, and only what the chart marks to keep remains.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { parseAllDocuments } from "yaml";
import { repoPath } from "../../generator/schema.js";
import { toolPath } from "../toolchain/toolchain.mjs";
import { ControlPlane, runCommand, type Command } from "./controlplane.js";

type Helm = "helm3" | "helm4";
type Ref = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> } };

/** The optional APIs whose CRDs are installed, for `helm template` (which cannot ask the cluster). */
const apis = ["keda.sh/v1alpha1/ScaledObject", "autoscaling.k8s.io/v1/VerticalPodAutoscaler", "redis.redis.opstreelabs.in/v1beta2/Redis", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PodMonitor", "monitoring.coreos.com/v1/PrometheusRule"];
const restricted = { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted" };
const release = "meme-generator";

function describe(objects: Ref[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`).sort();
}

function parse(manifest: string): Ref[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as Ref | null)
    .filter((o): o is Ref => Boolean(o?.kind));
}

/** Shows a failed command in full. */
function shown(what: string, result: Command): string {
  return `${what} exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** Passes when the command exited 0; its output is shown only when it did not. */
function succeeded(t: Test, result: Command, what: string): boolean {
  return t.equal(result.code, 0, what, { stdout: result.stdout.slice(-4000), stderr: result.stderr.slice(-4000) });
}

async function suite(crds: string): Promise<void> {
  // The API server with the controllers that give every namespace its `default` ServiceAccount (pods
  // without one of their own are refused otherwise) and that delete namespaces; nothing runs pods.
  const plane = await ControlPlane.start({ controllers: ["serviceaccount-token-controller", "serviceaccount-controller", "namespace-controller", "garbage-collector-controller"] });
  const helmHome = mkdtempSync(join(tmpdir(), "meme-generator-helm-"));
  t.teardown(async () => {
    if (t.counts.fail > 0) plane.keepLogs(repoPath(".artifacts/e2e/chart"));
    await plane.stop();
    rmSync(helmHome, { recursive: true, force: true });
  });

  const helm = (which: Helm, args: string[]) =>
    runCommand(toolPath(which), args, {
      KUBECONFIG: plane.kubeconfig,
      HELM_CACHE_HOME: join(helmHome, which, "cache"),
      HELM_CONFIG_HOME: join(helmHome, which, "config"),
      HELM_DATA_HOME: join(helmHome, which, "data"),
    });

  const profileArgs = (profile: string) => {
    const args = profile === "default" ? [] : ["-f", repoPath(`chart/profiles/${profile}.yaml`)];
    // The namespaces the chart creates get the same Pod Security levels as the ones made here.
    for (const [key, value] of Object.entries(restricted)) args.push("--set", `namespaces.create.labels.${key.replace(/\./g, "\\.")}=${value}`);
    return args;
  };

  const ensureNamespace = async (name: string) => {
    const created = await plane.kubectl(["create", "namespace", name]);
    if (created.code !== 0 && !created.stderr.includes("AlreadyExists")) throw new Error(shown(`create namespace ${name}`, created));
    const labelled = await plane.kubectl(["label", "namespace", name, "--overwrite", ...Object.entries(restricted).map(([k, v]) => `${k}=${v}`)]);
    if (labelled.code !== 0) throw new Error(shown(`label namespace ${name}`, labelled));
  };

  /** Objects of `objects` that the API server has, by name. */
  const present = async (objects: Ref[]): Promise<string[]> => {
    if (objects.length === 0) return [];
    const manifest = objects.map((o) => JSON.stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } })).join("\n---\n");
    const got = await plane.kubectl(["get", "--ignore-not-found", "-o", "json", "-f", "-"], manifest);
    if (got.code !== 0) throw new Error(shown("kubectl get -f", got));
    if (!got.stdout.trim()) return [];
    const list = JSON.parse(got.stdout) as { items?: Ref[] } & Ref;
    return describe(list.items ?? [list]);
  };

  await t.test("the CRDs are installed and established", async (t) => {
    const files = readdirSync(crds).filter((f) => f.endsWith(".yaml"));
    const applied = await plane.kubectl(["apply", "--server-side", ...files.flatMap((f) => ["-f", join(crds, f)])]);
    succeeded(t, applied, "kubectl apply CRDs");
    const established = await plane.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
    succeeded(t, established, "kubectl wait crd");
    const version = await plane.kubectl(["version", "-o", "json"]);
    const server = (JSON.parse(version.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion;
    t.match(server, /^v1\.\d+\.\d+$/, `the API server reports a real version (${server})`);
  });

  /**
   * Installs (or upgrades to) a profile and checks that every object the release's manifest holds exists,
   * that `helm template` with the same inputs renders the same objects, and that those pass a strict
   * server-side dry run with no warning. Returns the release's objects.
   */
  const deploy = async (t: Test, which: Helm, verb: "install" | "upgrade", profile: string, namespace: string): Promise<Ref[]> => {
    const result = await helm(which, [verb, release, repoPath("chart"), "-n", namespace, "--no-hooks", ...profileArgs(profile)]);
    succeeded(t, result, `${which} ${verb} ${profile}`);
    t.notMatch(result.stderr, /would violate PodSecurity|unknown field|[Dd]eprecated/, `${which} ${verb} ${profile}: no warning from the API server`);

    const manifest = await helm(which, ["get", "manifest", release, "-n", namespace]);
    succeeded(t, manifest, `${which} get manifest`);
    const installed = parse(manifest.stdout);
    t.ok(installed.length > 10, `${installed.length} objects in the release`);
    t.same(await present(installed), describe(installed), "every object of the release exists on the API server");

    const rendered = await helm(which, ["template", release, repoPath("chart"), "-n", namespace, ...apis.flatMap((a) => ["--api-versions", a]), ...profileArgs(profile)]);
    succeeded(t, rendered, `${which} template ${profile}`);
    t.same(describe(parse(rendered.stdout).filter((o) => !o.metadata.annotations?.["helm.sh/hook"])), describe(installed), "helm template renders what the cluster got");
    // Server-side apply, so that the objects Helm made are compared field by field (no last-applied annotation).
    const dryRun = await plane.kubectl(["apply", "--server-side", "--force-conflicts", "--dry-run=server", "--validate=strict", "-f", "-"], rendered.stdout);
    succeeded(t, dryRun, `kubectl apply --dry-run=server --validate=strict (${profile})`);
    t.equal(dryRun.stderr.trim(), "", "the strict server-side dry run warns of nothing");
    return installed;
  };

  /** Uninstalls and returns what is left of `objects`; it must be exactly what the chart marks to keep. */
  const uninstall = async (t: Test, which: Helm, namespace: string, objects: Ref[]): Promise<string[]> => {
    const result = await helm(which, ["uninstall", release, "-n", namespace, "--wait", "--timeout", "2m"]);
    succeeded(t, result, `${which} uninstall`);
    const kept = describe(objects.filter((o) => o.metadata.annotations?.["helm.sh/resource-policy"] === "keep"));
    const left = await present(objects);
    t.same(left, kept, `left after uninstall: ${left.length ? left.join(", ") : "nothing"}`);
    const releases = await helm(which, ["list", "-n", namespace, "-q"]);
    t.equal(releases.stdout.trim(), "", "no release is left");
    return left;
  };

  for (const which of ["helm3", "helm4"] as const) {
    await t.test(`${which}: install and uninstall every profile`, async (t) => {
      for (const profile of ["default", "local", "production"]) {
        await t.test(profile, async (t) => {
          const namespace = `${which}-${profile}`;
          await ensureNamespace(namespace);
          const objects = await deploy(t, which, "install", profile, namespace);
          await uninstall(t, which, namespace, objects);
        });
      }
      // The demo profile's namespaces are fixed names, kept on uninstall: installing again adopts them,
      // which is why every demo release here lives in the same release namespace.
      await t.test("demo", async (t) => {
        await ensureNamespace("meme-demo");
        const objects = await deploy(t, which, "install", "demo", "meme-demo");
        const namespaces = describe(objects.filter((o) => o.kind === "Namespace"));
        t.same(namespaces, ["Namespace/cache", "Namespace/meme-generator", "Namespace/messaging"], "the demo profile creates its three namespaces");
        const left = await uninstall(t, which, "meme-demo", objects);
        t.comment(`kept after uninstall: ${left.join(", ")}`);
      });
      await t.test("upgrade from the default profile to the demo profile", async (t) => {
        const before = await deploy(t, which, "install", "default", "meme-demo");
        const after = await deploy(t, which, "upgrade", "demo", "meme-demo");
        const gone = describe(before).filter((name) => !describe(after).includes(name));
        t.same(await present(before.filter((o) => gone.includes(describe([o])[0] ?? ""))), [], `the upgrade removed what demo no longer has (${gone.length} objects)`);
        await uninstall(t, which, "meme-demo", after);
      });
    });
  }
}

const crdsDir = process.env.CRDS_DIR;
if (!crdsDir) {
  // Without the CRDs the demo profile's custom resources cannot be installed.
  t.fail("CRDS_DIR is not set: point it at the folder of the KEDA, VPA, redis-operator and prometheus-operator CRDs");
  t.end();
} else {
  await suite(crdsDir);
}
