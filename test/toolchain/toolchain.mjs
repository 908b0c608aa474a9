// Builds the pinned chart and broker toolchain from the Go modules beside this
// file and keeps the binaries in a cache outside the repository, keyed by the
// pins, so that fresh clones reuse what an earlier clone built. The control
// plane of the end-to-end tests (etcd, Kubernetes) is a group of its own, built
// only when asked for.
//
//   node test/toolchain/toolchain.mjs                build what `npm test` needs, print paths
//   node test/toolchain/toolchain.mjs --e2e          build what `npm run test:e2e` needs
//   node test/toolchain/toolchain.mjs --image        build what the images and their suite need
//   node test/toolchain/toolchain.mjs --node         build what the real-node suite needs (e2e, images and the node)
//   node test/toolchain/toolchain.mjs [--e2e|--image|--node] --check  exit 1 when something is missing
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * One binary built from one pinning module.
 * @typedef {{ name: string, module: string, pkg: string, versionOf: string, ldflags: (version: string, moduleDir: string) => string[], tags?: string[], group?: "e2e" | "image" | "node" }} Tool
 */

/** Helm 3 defaults `.Capabilities.KubeVersion` to v1.20 unless told the Kubernetes minor it links. */
function helm3KubeFlags(/** @type {string} */ moduleDir) {
  const clientGo = goListVersion(moduleDir, "k8s.io/client-go"); // v0.36.3 → Kubernetes 1.36
  const [, minor] = clientGo.replace(/^v/, "").split(".");
  return ["chartutil", "lint/rules"].flatMap((pkg) => [
    `-X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMajor=1`,
    `-X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMinor=${minor}`,
  ]);
}

/** Kubernetes reports the version stamped at link time (to `.Capabilities.KubeVersion` among others). */
function kubeVersionFlags(/** @type {string} */ version) {
  const [major, minor] = version.replace(/^v/, "").split(".");
  return ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]);
}

/** @type {(name: string, group?: "e2e" | "node") => Tool} */
const kubernetes = (name, group = "e2e") => ({
  name,
  module: "kube",
  pkg: `k8s.io/kubernetes/cmd/${name}`,
  versionOf: "k8s.io/kubernetes",
  ldflags: kubeVersionFlags,
  group,
});

/** KEDA's operator and metrics adapter, from its own module: its Kubernetes pins differ from ours. */
function keda(/** @type {string} */ name, /** @type {string} */ cmd) {
  return /** @type {Tool} */ ({
    name,
    module: "keda",
    pkg: `github.com/kedacore/keda/v2/cmd/${cmd}`,
    versionOf: "github.com/kedacore/keda/v2",
    ldflags: (/** @type {string} */ version) => [`-X github.com/kedacore/keda/v2/version.Version=${version}`],
    group: "e2e",
  });
}

/** @type {Tool[]} */
export const tools = [
  {
    name: "helm3",
    module: "helm3",
    pkg: "helm.sh/helm/v3/cmd/helm",
    versionOf: "helm.sh/helm/v3",
    ldflags: (version, dir) => [`-X helm.sh/helm/v3/internal/version.version=${version}`, ...helm3KubeFlags(dir)],
  },
  {
    name: "helm-unittest",
    module: "helm3",
    pkg: "github.com/helm-unittest/helm-unittest/cmd/helm-unittest",
    versionOf: "github.com/helm-unittest/helm-unittest",
    ldflags: (version, dir) => [
      `-X github.com/helm-unittest/helm-unittest/internal/build.version=${version.replace(/^v/, "")}`,
      ...helm3KubeFlags(dir),
    ],
  },
  {
    name: "helm4",
    module: "helm4",
    pkg: "helm.sh/helm/v4/cmd/helm",
    versionOf: "helm.sh/helm/v4",
    ldflags: (version) => [`-X helm.sh/helm/v4/internal/version.version=${version}`],
  },
  {
    name: "nats-server",
    module: "nats-server",
    pkg: "github.com/nats-io/nats-server/v2",
    versionOf: "github.com/nats-io/nats-server/v2",
    ldflags: () => [],
  },
  {
    // The natscli the guide's `nats pub` is, run by the tests against our servers.
    name: "nats",
    module: "nats-cli",
    pkg: "github.com/nats-io/natscli/nats",
    versionOf: "github.com/nats-io/natscli",
    ldflags: (version) => [`-X main.version=${version}`],
  },
  {
    name: "etcd",
    module: "etcd",
    pkg: "meme-generator/test/toolchain/etcd",
    versionOf: "go.etcd.io/etcd/server/v3",
    ldflags: () => [],
    group: "e2e",
  },
  ...["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"].map((name) => kubernetes(name)),
  // The real node joins the same control plane, so it is built from the same pins.
  ...["kubelet", "kube-proxy"].map((name) => kubernetes(name, "node")),
  {
    // Enforces NetworkPolicies on the real node (its firewall alone): iptables chains and ipsets.
    name: "kube-router",
    module: "kube-router",
    pkg: "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router",
    versionOf: "github.com/cloudnativelabs/kube-router/v2",
    ldflags: (version) => [`-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=${version}`],
    group: "node",
  },
  {
    // The resource metrics API on the real node: it scrapes the kubelet, for the HPA and `kubectl top`.
    name: "metrics-server",
    module: "metrics-server",
    pkg: "sigs.k8s.io/metrics-server/cmd/metrics-server",
    versionOf: "sigs.k8s.io/metrics-server",
    ldflags: () => [],
    group: "node",
  },
  // The Vertical Pod Autoscaler on the real node: its recommender reads the resource metrics API, its
  // updater evicts, its admission controller writes the recommended requests into new pods.
  ...["recommender", "updater", "admission-controller"].map((name) => /** @type {Tool} */ ({
    name: `vpa-${name}`,
    module: "vpa",
    pkg: `k8s.io/autoscaler/vertical-pod-autoscaler/pkg/${name}`,
    versionOf: "k8s.io/autoscaler/vertical-pod-autoscaler",
    ldflags: () => [],
    group: "node",
  })),
  keda("keda-operator", "operator"),
  keda("keda-adapter", "adapter"),
  // What the images and the image suite run: a container runtime, and the servers of the images
  // that the chart can run besides the application's (nats-server is above).
  ...["containerd", "containerd-shim-runc-v2", "ctr"].map((name) => /** @type {Tool} */ ({
    name,
    module: "containerd",
    pkg: `github.com/containerd/containerd/v2/cmd/${name}`,
    versionOf: "github.com/containerd/containerd/v2",
    ldflags: (/** @type {string} */ version) => [`-X github.com/containerd/containerd/v2/version.Version=${version}`],
    tags: ["no_btrfs"],
    group: "image",
  })),
  {
    name: "prometheus-nats-exporter",
    module: "nats-exporter",
    pkg: "github.com/nats-io/prometheus-nats-exporter",
    versionOf: "github.com/nats-io/prometheus-nats-exporter",
    ldflags: () => [],
    group: "image",
  },
  {
    name: "coredns",
    module: "coredns",
    pkg: "github.com/coredns/coredns",
    versionOf: "github.com/coredns/coredns",
    ldflags: () => [],
    group: "image",
  },
  {
    name: "kwok",
    module: "kwok",
    pkg: "sigs.k8s.io/kwok/cmd/kwok",
    versionOf: "sigs.k8s.io/kwok",
    ldflags: (version) => [`-X sigs.k8s.io/kwok/pkg/consts.Version=${version.replace(/^v/, "")}`],
    group: "e2e",
  },
];

/** @param {string} moduleDir @param {string} mod */
function goListVersion(moduleDir, mod) {
  return execFileSync("go", ["list", "-m", "-f", "{{.Version}}", mod], { cwd: moduleDir, encoding: "utf8" }).trim();
}

export function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return process.env.MEME_TOOLCHAIN_CACHE || join(base, "meme-generator", "toolchain");
}

/** @type {string | undefined} */
let goEnvCache;
function goEnv() {
  if (goEnvCache) return goEnvCache;
  const result = spawnSync("go", ["env", "GOVERSION", "GOOS", "GOARCH"], { encoding: "utf8" });
  if (result.error || result.status !== 0) {
    throw new Error("go is not on PATH: install the Go toolchain (go.dev/dl or the golang-go package) to build the pinned tools");
  }
  goEnvCache = result.stdout.trim().split("\n").join(" ");
  return goEnvCache;
}

/** The version the pins select and the linker flags that stamp it. */
function recipe(/** @type {Tool} */ tool) {
  const moduleDir = join(here, tool.module);
  const version = goListVersion(moduleDir, tool.versionOf);
  const ldflags = ["-s", "-w", ...tool.ldflags(version, moduleDir)].join(" ");
  const tags = (tool.tags ?? []).join(",");
  return { moduleDir, version, ldflags, tags };
}

/** The cache folder of a tool: it changes whenever its pins, its flags or the Go toolchain change. */
export function toolDir(/** @type {Tool} */ tool, { moduleDir, ldflags, tags } = recipe(tool)) {
  const hash = createHash("sha256");
  hash.update(`${tool.name}\n${tool.pkg}\n${goEnv()}\n${ldflags}\n`);
  if (tags) hash.update(`tags ${tags}\n`);
  const sources = readdirSync(moduleDir).filter((file) => file.endsWith(".go")).sort();
  for (const file of ["go.mod", "go.sum", ...sources]) hash.update(readFileSync(join(moduleDir, file)));
  return join(cacheRoot(), `${tool.name}-${hash.digest("hex").slice(0, 16)}`);
}

const located = new Map();

/** Absolute path of a built tool, or an Error saying how to build it. */
export function toolPath(/** @type {string} */ name) {
  const known = located.get(name);
  if (known) return known;
  const tool = tools.find((t) => t.name === name);
  if (!tool) throw new Error(`unknown tool ${name}`);
  const binary = join(toolDir(tool), name);
  if (!existsSync(binary)) throw new Error(`${name} is not built: run \`npm run toolchain\` (builds it from test/toolchain/${tool.module}/go.mod into ${cacheRoot()})`);
  located.set(name, binary);
  return binary;
}

/** Builds one tool unless its keyed cache folder already holds it. */
async function build(/** @type {Tool} */ tool) {
  const pinned = recipe(tool);
  const { moduleDir, version, ldflags, tags } = pinned;
  const dir = toolDir(tool, pinned);
  const binary = join(dir, tool.name);
  if (existsSync(binary)) return { binary, built: false };
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const started = Date.now();
  process.stderr.write(`toolchain: building ${tool.name} ${version} …\n`);
  const status = await new Promise((resolve) => {
    const child = spawn("go", ["build", "-trimpath", ...(tags ? ["-tags", tags] : []), "-ldflags", ldflags, "-o", join(staging, tool.name), tool.pkg], {
      cwd: moduleDir,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" },
    });
    child.on("error", () => resolve(127));
    child.on("close", (code) => resolve(code ?? 1));
  });
  if (status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`toolchain: go build of ${tool.pkg} failed (exit ${status})`);
  }
  writeFileSync(join(staging, "VERSION"), `${version}\n`);
  // A helm plugin folder, so that `helm unittest` works with the cached helm too.
  if (tool.name === "helm-unittest") {
    writeFileSync(
      join(staging, "plugin.yaml"),
      `name: unittest\nversion: "${version.replace(/^v/, "")}"\nusage: unit tests for helm charts\ndescription: helm-unittest built from the pinned module\ncommand: "$HELM_PLUGIN_DIR/helm-unittest"\n`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  process.stderr.write(`toolchain: built ${tool.name} ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return { binary, built: true };
}

/**
 * How many modules build at once. One `go build` keeps both cores busy while it compiles, but its
 * link, and the long compile of a few huge packages, run on one: a second module's build fills the
 * other core. The tools of one module build one after another, so each reuses what the first compiled.
 */
const jobs = Math.max(1, Number(process.env.MEME_TOOLCHAIN_JOBS ?? 2) || 1);

/** The modules by the time their tools took to build from empty caches on 2 cores (KEDA's two about 12 minutes, Kubernetes' six 10, kube-router 5). */
const longestFirst = ["keda", "kube", "kube-router", "metrics-server", "coredns", "vpa", "helm3", "helm4", "containerd", "etcd", "nats-cli", "kwok"];

async function main() {
  const check = process.argv.includes("--check");
  // The end-to-end tests also use what `npm test` does (helm, nats-server), and so do the images;
  // the real node runs the images on the end-to-end control plane.
  const groups = process.argv.includes("--node") ? ["e2e", "image", "node"] : process.argv.includes("--e2e") ? ["e2e"] : process.argv.includes("--image") ? ["image"] : [];
  const wanted = tools.filter((t) => !t.group || groups.includes(t.group));
  if (check) {
    let missing = 0;
    for (const tool of wanted) {
      try {
        console.log(`${tool.name}\t${toolPath(tool.name)}`);
      } catch (error) {
        console.error(/** @type {Error} */ (error).message);
        missing++;
      }
    }
    process.exitCode = missing ? 1 : 0;
    return;
  }
  // One queue entry per module, the longest cold builds first (so that the last to start are short);
  // each worker takes the next module and builds its tools.
  const rank = (/** @type {string} */ m) => (longestFirst.indexOf(m) + 1 || longestFirst.length + 1);
  const modules = [...new Set(wanted.map((t) => t.module))].sort((a, b) => rank(a) - rank(b)).map((module) => wanted.filter((t) => t.module === module));
  /** @type {Map<string, string>} */
  const lines = new Map();
  const worker = async () => {
    for (let next = modules.shift(); next; next = modules.shift()) {
      for (const tool of next) {
        const { binary, built } = await build(tool);
        lines.set(tool.name, `${tool.name}\t${binary}${built ? "" : "\t(cached)"}`);
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: jobs }, worker));
  // The paths in the list's order, whatever order they were built in.
  for (const tool of wanted) if (lines.has(tool.name)) console.log(lines.get(tool.name));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw /** @type {PromiseRejectedResult} */ (failed).reason;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(/** @type {Error} */ (error).message);
    process.exitCode = 1;
  });
}
