// A real node for the end-to-end control plane. containerd v2 (CRI) with Debian's runc, and the
// kubelet and kube-proxy of the pinned Kubernetes, run inside a network namespace made here, joined
// to the host by a veth pair, and inside a mount namespace of their own (so every mount they make
// goes with them). Pods get a CNI bridge; an nftables table in the node's namespace and one on the
// host drop every pod packet that is not for a pod, a Service or the API server; CoreDNS serves the
// cluster's names and nothing else; images are imported, never pulled. Teardown removes every
// process, namespace, interface, rule, cgroup and file made here, also after a failure, and the next
// run removes what a killed run left.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { clientAuth, keepProcessLogs, serviceCidr, signCertificate, startProcess, stopProcesses, waitWhileRunning, writeKubeconfig, type ControlPlane, type Process } from "../e2e/controlplane.js";
import { toolPath } from "../toolchain/toolchain.mjs";

/** Addresses used only on this machine: the veth pair, the pods behind the node, the cluster DNS Service. */
export const network = {
  /** The host's side of the veth pair: the API server binds and advertises here. */
  host: "10.249.0.1",
  /** The node's side: its InternalIP, where the kubelet listens. */
  node: "10.249.0.2",
  pods: "10.250.0.0/24",
  services: serviceCidr,
  dns: "10.96.0.10",
} as const;

export const nodeName = "meme-node";
/** The label the test values select the real node by. */
export const nodeLabel = { key: "meme-generator.dev/node", value: "real" } as const;

/**
 * How fast the VPA acts. `interval`: how often the recommender reads metrics and the updater looks
 * for pods to evict (a stock VPA: 1 min each). `confidence`: the history after which the bounds of a
 * recommendation are as narrow as they get (a stock VPA: 24 h; before that they are wide, and pods
 * inside them are not evicted).
 */
export interface VpaTiming {
  interval: string;
  confidence: string;
}

/**
 * The recommender's own floors for a pod (a stock VPA: 25m CPU, 250 MiB), lowered below the chart's
 * smallest `minAllowed` (50m, 64Mi) so that the chart's bounds are what limits the recommendation.
 */
export const vpaFloors = { cpuMillicores: 10, memoryMb: 32 } as const;

/** The MutatingWebhookConfiguration the VPA's admission controller registers itself as. */
export const vpaWebhook = "vpa-webhook-config";

const prefix = "meme-node-";
const sealTable = (pid: number) => `meme_node_seal_${pid}`;
/** The veth pair's ends, on the host and in the node (interface names have at most 15 characters). */
const hostInterface = (pid: number) => `mnh${pid}`.slice(0, 15);
const nodeInterface = (pid: number) => `mnn${pid}`.slice(0, 15);
const cgroupMount = "/sys/fs/cgroup";

function sh(file: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const out = spawnSync(file, args, { encoding: "utf8", input, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: out.status ?? 1, stdout: out.stdout ?? "", stderr: `${out.stderr ?? ""}${out.error ? out.error.message : ""}` };
}

function must(file: string, args: string[], input?: string): string {
  const out = sh(file, args, input);
  if (out.code !== 0) throw new Error(`${file} ${args.join(" ")}: exit ${out.code}\n${out.stderr}`);
  return out.stdout;
}

/** A process that exists and is not a zombie (a killed program lingers as one until it is reaped). */
export function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * Spawns a program and resolves once its output shows `marker`; when it exits first, or `timeoutMs`
 * passes, it is killed and the promise rejects with `what` and the output.
 */
export async function spawnUntil(what: string, file: string, args: string[], marker: string, timeoutMs: number, options: SpawnOptions = {}): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  for (const deadline = Date.now() + timeoutMs; !output.includes(marker); await sleep(50)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${what}:\n${output}`);
    }
  }
  return { child, output: () => output };
}

/** The v1 hierarchies and the unified one, each a folder under /sys/fs/cgroup. */
function cgroupHierarchies(): string[] {
  return readdirSync(cgroupMount)
    .map((name) => join(cgroupMount, name))
    .filter((path) => statSync(path).isDirectory() && existsSync(join(path, "cgroup.procs")));
}

/** Every cgroup under `path`, deepest first. */
function cgroupTree(path: string): string[] {
  if (!existsSync(path)) return [];
  const below = readdirSync(path, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => cgroupTree(join(path, e.name)));
  return [...below, path];
}

function pidsOfCgroups(name: string): number[] {
  const pids = new Set<number>();
  for (const hierarchy of cgroupHierarchies()) {
    for (const group of cgroupTree(join(hierarchy, name))) {
      try {
        for (const line of readFileSync(join(group, "cgroup.procs"), "utf8").split("\n")) if (line) pids.add(Number(line));
      } catch {
        // gone meanwhile
      }
    }
  }
  return [...pids];
}

/** Processes whose namespace of `kind` is `target`, as their /proc/<pid>/ns/<kind> links name it (`net:[4026532…]`). */
function pidsInNamespace(kind: "mnt" | "net", target: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/${kind}`) === target) pids.push(Number(entry));
    } catch {
      // exited, or a kernel thread
    }
  }
  return pids;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * Removes what the node of process `pid` made: its processes (by network namespace, mount namespace
 * and cgroup), the cgroups, the namespace with its veth pair and nftables table, the host's table and
 * routes, and its folder. Safe to call on a node that was never (or only partly) made.
 */
async function removeNode(pid: number, holder?: number): Promise<void> {
  const netns = `${prefix}${pid}`;
  const cgroup = `${prefix}${pid}`;
  const netnsPath = `/run/netns/${netns}`;
  let netTarget: string | undefined;
  let mntTarget: string | undefined;
  try {
    if (holder && running(holder)) mntTarget = readlinkSync(`/proc/${holder}/ns/mnt`);
  } catch {
    // the holder is gone
  }
  if (existsSync(netnsPath)) {
    const inode = statSync(netnsPath).ino;
    netTarget = `net:[${inode}]`;
  }
  for (let round = 0; round < 20; round++) {
    const pids = new Set<number>([...pidsOfCgroups(cgroup), ...(netTarget ? pidsInNamespace("net", netTarget) : []), ...(mntTarget ? pidsInNamespace("mnt", mntTarget) : [])]);
    pids.delete(process.pid);
    if (pids.size === 0) break;
    killAll([...pids]);
    await sleep(250);
  }
  for (const hierarchy of cgroupHierarchies()) {
    for (const group of cgroupTree(join(hierarchy, cgroup))) {
      try {
        rmdirSync(group);
      } catch {
        // still busy: the next run's cleanup tries again
      }
    }
  }
  sh("nft", ["delete", "table", "inet", sealTable(pid)]);
  // The pair goes first and at once: the kernel frees a namespace's interfaces later, and the host's
  // address leaving then would take the next node's identical address out of the local table.
  sh("ip", ["link", "del", hostInterface(pid)]);
  for (let i = 0; i < 50 && sh("ip", ["link", "show", hostInterface(pid)]).code === 0; i++) await sleep(100);
  if (existsSync(netnsPath)) sh("ip", ["netns", "del", netns]);
  const root = join(tmpdir(), `${prefix}${pid}`);
  // Nothing is mounted under the folder on the host (the node's mounts lived in its own namespace),
  // but a folder with a mount in it must not be removed recursively: unmount first.
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n").reverse()) {
    const mountPoint = line.split(" ")[4];
    if (mountPoint?.startsWith(`${root}/`)) sh("umount", ["-l", mountPoint]);
  }
  rmSync(root, { recursive: true, force: true });
}

/** Removes what earlier runs left when they were killed before their teardown. */
export async function removeStaleNodes(): Promise<string[]> {
  const stale = new Set<number>();
  for (const line of sh("ip", ["netns", "list"]).stdout.split("\n")) {
    const m = new RegExp(`^${prefix}(\\d+)\\b`).exec(line);
    if (m) stale.add(Number(m[1]));
  }
  for (const hierarchy of cgroupHierarchies()) for (const e of readdirSync(hierarchy)) if (e.startsWith(prefix)) stale.add(Number(e.slice(prefix.length)));
  for (const line of sh("nft", ["list", "tables"]).stdout.split("\n")) {
    const m = /meme_node_seal_(\d+)/.exec(line);
    if (m) stale.add(Number(m[1]));
  }
  for (const e of readdirSync(tmpdir())) if (e.startsWith(prefix) && /^\d+$/.test(e.slice(prefix.length))) stale.add(Number(e.slice(prefix.length)));
  const removed: string[] = [];
  for (const pid of stale) {
    if (pid === process.pid || running(pid)) continue;
    await removeNode(pid);
    removed.push(`${prefix}${pid}`);
  }
  return removed;
}

export class RealNode {
  readonly pid = process.pid;
  readonly netns = `${prefix}${process.pid}`;
  readonly cgroupRoot = `/${prefix}${process.pid}`;
  readonly root = join(tmpdir(), `${prefix}${process.pid}`);
  readonly socket = join(this.root, "containerd", "containerd.sock");
  private readonly processes: Process[] = [];
  private holder: ChildProcess | undefined;

  private path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /**
   * The network half, before the control plane starts (its API server binds to the host's side of the
   * pair): the namespace, the veth pair and its addresses, routes from the host to the pods and
   * Services, forwarding inside the namespace only, and the seal.
   */
  async prepare(): Promise<void> {
    await removeStaleNodes();
    // The addresses are fixed: a second node alive at the same time would take the same routes.
    const other = sh("ip", ["netns", "list"]).stdout.split("\n").find((l) => l.startsWith(prefix));
    if (other) throw new Error(`another real node is running on this machine (${other.split(" ")[0]}, its test process alive): one at a time`);
    mkdirSync(this.root, { recursive: true });
    for (const hierarchy of cgroupHierarchies()) mkdirSync(join(hierarchy, this.cgroupRoot), { recursive: true });
    const [hostIf, nodeIf] = [hostInterface(this.pid), nodeInterface(this.pid)];
    must("ip", ["netns", "add", this.netns]);
    must("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nodeIf, "netns", this.netns]);
    must("ip", ["addr", "add", `${network.host}/30`, "dev", hostIf]);
    must("ip", ["link", "set", hostIf, "up"]);
    const inNode = (args: string[]) => must("ip", ["-n", this.netns, ...args]);
    inNode(["link", "set", "lo", "up"]);
    inNode(["addr", "add", `${network.node}/30`, "dev", nodeIf]);
    inNode(["link", "set", nodeIf, "up"]);
    inNode(["route", "add", "default", "via", network.host]);
    must("ip", ["route", "add", network.pods, "via", network.node, "dev", hostIf]);
    must("ip", ["route", "add", network.services, "via", network.node, "dev", hostIf]);
    // Forwarding and bridge filtering in the node's namespace only; the host forwards nothing for it.
    for (const [key, value] of [["net.ipv4.ip_forward", "1"], ["net.bridge.bridge-nf-call-iptables", "1"], ["net.ipv4.conf.all.route_localnet", "1"]]) {
      must("ip", ["netns", "exec", this.netns, "sysctl", "-q", "-w", `${key}=${value}`]);
    }
  }

  /**
   * The seal: in the node's namespace, every packet from the pod range that is not for a pod, a Service
   * or the API server is dropped before the filter hooks (kube-proxy's rules come after), and on the
   * host the same sources reach only the API server's port. Counters show what was dropped.
   */
  seal(apiPort: number): void {
    const table = sealTable(this.pid);
    const node = [
      `table inet ${table} {`,
      "  chain forward {",
      "    type filter hook forward priority -10; policy accept;",
      "    ct state established,related accept",
      `    ip saddr ${network.pods} ip daddr ${network.pods} accept`,
      `    ip saddr ${network.pods} ip daddr ${network.services} accept`,
      `    ip saddr ${network.pods} ip daddr ${network.host} tcp dport ${apiPort} accept`,
      `    ip saddr ${network.pods} counter name pods_out drop`,
      "  }",
      "  chain input {",
      "    type filter hook input priority -10; policy accept;",
      "    ct state established,related accept",
      `    ip saddr ${network.pods} counter name pods_node drop`,
      "  }",
      "  counter pods_out { }",
      "  counter pods_node { }",
      "}",
    ].join("\n");
    must("ip", ["netns", "exec", this.netns, "nft", "-f", "-"], `${node}\n`);
    const host = [
      `table inet ${table} {`,
      "  chain input {",
      "    type filter hook input priority -10; policy accept;",
      `    ip saddr { ${network.pods}, ${network.node} } ip daddr ${network.host} tcp dport ${apiPort} accept`,
      "    ct state established,related accept",
      `    ip saddr { ${network.pods}, ${network.node} } counter name host_in drop`,
      "  }",
      "  chain forward {",
      "    type filter hook forward priority -10; policy accept;",
      `    ip saddr { ${network.pods}, ${network.node} } counter name host_forward drop`,
      "  }",
      "  counter host_in { }",
      "  counter host_forward { }",
      "}",
    ].join("\n");
    must("nft", ["-f", "-"], `${host}\n`);
  }

  /** The packets each counter of the seal has dropped so far, by name (pods_out, pods_node in the node; host_in, host_forward on the host). */
  sealCounters(): Record<string, number> {
    const counters: Record<string, number> = {};
    const read = (output: string) => {
      const parsed = JSON.parse(output) as { nftables: { counter?: { name: string; packets: number } }[] };
      for (const item of parsed.nftables) if (item.counter) counters[item.counter.name] = item.counter.packets;
    };
    read(must("ip", ["netns", "exec", this.netns, "nft", "-j", "list", "counters", "table", "inet", sealTable(this.pid)]));
    read(must("nft", ["-j", "list", "counters", "table", "inet", sealTable(this.pid)]));
    return counters;
  }

  /**
   * Joins the control plane: the seal, certificates from its CA, containerd with the CRI and CNI and
   * the images imported into it, then the kubelet (until the Node is Ready) and kube-proxy.
   */
  async join(plane: ControlPlane, images: string[]): Promise<void> {
    this.seal(plane.apiPort);
    this.certificates(plane);
    await this.startHolder();
    await this.startContainerd();
    for (const archive of images) this.importImage(archive);
    await this.startKubelet(plane);
    await this.startKubeProxy();
  }

  private certificates(plane: ControlPlane): void {
    const dir = plane.dir;
    signCertificate(dir, "kubelet-client", `/O=system:nodes/CN=system:node:${nodeName}`, clientAuth);
    signCertificate(dir, "kube-proxy", "/CN=system:kube-proxy", clientAuth);
    signCertificate(dir, "kubelet-serving", `/CN=system:node:${nodeName}`, `subjectAltName=IP:${network.node},DNS:${nodeName}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
    for (const [user, cert] of [["kubelet", "kubelet-client"], ["kube-proxy", "kube-proxy"]] as const) writeKubeconfig(this.path(`${user}.kubeconfig`), plane.server, dir, user, cert);
  }

  /**
   * A process that holds the node's mount namespace: entered into the node's network namespace, it
   * unshares its mounts (slave of the host's, so nothing made inside shows outside), mounts a sysfs of
   * the node's network namespace and keeps the host's cgroup hierarchies under it.
   */
  private async startHolder(): Promise<void> {
    const keep = this.path("cgroup-keep");
    mkdirSync(keep, { recursive: true });
    const script = [
      "set -e",
      `mount --rbind ${cgroupMount} ${keep}`,
      "umount -l /sys",
      "mount -t sysfs sysfs /sys",
      `mount --move ${keep} ${cgroupMount}`,
      "echo ready",
      "exec sleep infinity",
    ].join("\n");
    this.holder = (await spawnUntil("the node's mount namespace could not be made", "nsenter", [`--net=/run/netns/${this.netns}`, "unshare", "--mount", "--propagation", "slave", "sh", "-c", script], "ready", 10_000)).child;
  }

  /** Runs a node program inside the node's network and mount namespaces, logging to a file of its own. */
  private run(name: string, file: string, args: string[], env: Record<string, string> = {}): Process {
    if (!this.holder?.pid) throw new Error("the node's namespaces are not made");
    const path = [dirname(toolPath("containerd-shim-runc-v2")), "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":");
    const proc = startProcess(name, "nsenter", [`--target=${this.holder.pid}`, "--mount", "--net", "--", file, ...args], { PATH: path, ...env }, this.path("logs", `${name}.log`));
    this.processes.push(proc);
    return proc;
  }

  /**
   * A program of the node that needs cluster names (KEDA's operator asks NATS's monitoring by its
   * Service name): in a mount namespace of its own under the node's, where /etc/resolv.conf names
   * CoreDNS's Service, so it resolves as pods do while the kubelet and containerd see no change.
   */
  runWithClusterDns(name: string, file: string, args: string[], env: Record<string, string> = {}): Process {
    const resolv = this.path("cluster-resolv.conf");
    writeFileSync(resolv, `nameserver ${network.dns}\nsearch svc.cluster.local cluster.local\noptions ndots:5\n`);
    const script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"';
    return this.run(name, "unshare", ["--mount", "--propagation", "private", "sh", "-c", script, resolv, file, ...args], env);
  }

  /** KEDA's operator and metrics adapter as programs of the node, resolving cluster names; the API server reaches the adapter on the node's address. */
  startKeda(plane: ControlPlane): Promise<Process[]> {
    return plane.startKeda({ run: (name, file, args, env) => this.runWithClusterDns(name, file, args, env), address: network.node });
  }

  /**
   * metrics-server as a program of the node: it scrapes this node's kubelet alone (the kwok nodes have
   * no kubelet, and their addresses are not this machine's), trusting the kubelet's serving certificate
   * through the e2e CA that signed it, and serves the resource metrics API on the node's address, where
   * the API server's aggregation layer reaches it. Returns its process, for the caller to stop.
   */
  async startMetricsServer(plane: ControlPlane, port: number): Promise<Process> {
    const dir = plane.dir;
    const service = "metrics-server.kube-system.svc";
    signCertificate(dir, "metrics-server", `/CN=${service}`, `subjectAltName=DNS:${service},IP:${network.node}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
    await plane.apply([
      { apiVersion: "v1", kind: "Service", metadata: { name: "metrics-server", namespace: "kube-system" }, spec: { type: "ExternalName", externalName: network.node, ports: [{ name: "https", port }] } },
      {
        apiVersion: "apiregistration.k8s.io/v1",
        kind: "APIService",
        metadata: { name: "v1beta1.metrics.k8s.io" },
        spec: { group: "metrics.k8s.io", version: "v1beta1", service: { name: "metrics-server", namespace: "kube-system", port }, caBundle: readFileSync(join(dir, "ca.crt")).toString("base64"), groupPriorityMinimum: 100, versionPriority: 100 },
      },
    ]);
    const proc = this.run("metrics-server", toolPath("metrics-server"), [
      `--kubeconfig=${plane.kubeconfig}`,
      `--authentication-kubeconfig=${plane.kubeconfig}`,
      `--authorization-kubeconfig=${plane.kubeconfig}`,
      `--bind-address=${network.node}`,
      `--secure-port=${port}`,
      `--tls-cert-file=${join(dir, "metrics-server.crt")}`,
      `--tls-private-key-file=${join(dir, "metrics-server.key")}`,
      `--kubelet-certificate-authority=${join(dir, "ca.crt")}`,
      "--kubelet-preferred-address-types=InternalIP",
      "--kubelet-use-node-status-port",
      "--kubelet-request-timeout=5s",
      `--node-selector=${nodeLabel.key}=${nodeLabel.value}`,
      // The shortest it allows (it must exceed the kubelet request timeout): the HPA sees a change within one or two of these.
      "--metric-resolution=10s",
      "--v=1",
    ]);
    await this.waitFor("the resource metrics API with this node's figures", async () => (await plane.kubectl(["get", "--raw", `/apis/metrics.k8s.io/v1beta1/nodes/${nodeName}`])).code === 0, 120_000);
    return proc;
  }

  /**
   * The Vertical Pod Autoscaler's recommender and admission controller as programs of the node. The
   * recommender reads the resource metrics API (metrics-server must run); the admission controller
   * serves its webhook on the node's address with a certificate from the e2e CA and registers it by
   * URL, with a short timeout and the failure policy Ignore, so a webhook that is gone never stalls pod
   * creation. The updater starts on its own (`startVpaUpdater`), so a test decides when evictions may
   * begin. Every non-default flag shortens what a stock VPA takes a day to do, or lowers the
   * recommender's own floors below the chart's `minAllowed` so that the chart's bounds are the ones
   * that act. Returns the processes, for `stopVpa`.
   */
  async startVpa(plane: ControlPlane, port: number, timing: VpaTiming): Promise<Process[]> {
    const dir = plane.dir;
    signCertificate(dir, "vpa-webhook", `/CN=${network.node}`, `subjectAltName=IP:${network.node}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
    const processes = [
      this.run("vpa-recommender", toolPath("vpa-recommender"), [
        `--kubeconfig=${plane.kubeconfig}`,
        "--address=127.0.0.1:0",
        `--recommender-interval=${timing.interval}`,
        `--confidence-interval-cpu=${timing.confidence}`,
        `--confidence-interval-memory=${timing.confidence}`,
        `--pod-recommendation-min-cpu-millicores=${vpaFloors.cpuMillicores}`,
        `--pod-recommendation-min-memory-mb=${vpaFloors.memoryMb}`,
        "--v=2",
      ]),
      this.run(
        "vpa-admission-controller",
        toolPath("vpa-admission-controller"),
        [
          `--kubeconfig=${plane.kubeconfig}`,
          "--address=127.0.0.1:0",
          `--port=${port}`,
          `--client-ca-file=${join(dir, "ca.crt")}`,
          `--tls-cert-file=${join(dir, "vpa-webhook.crt")}`,
          `--tls-private-key=${join(dir, "vpa-webhook.key")}`,
          "--register-by-url",
          `--webhook-address=https://${network.node}`,
          `--webhook-port=${port}`,
          "--webhook-timeout-seconds=5",
          "--v=2",
        ],
        // Where it keeps the lease that tells the updater it is alive.
        { NAMESPACE: "kube-system" },
      ),
    ];
    await this.waitFor(
      "the VPA's admission webhook, registered",
      async () => (await plane.kubectl(["get", "mutatingwebhookconfiguration", vpaWebhook, "-o", "jsonpath={.webhooks[0].clientConfig.url}"])).stdout.includes(network.node),
      60_000,
    );
    return processes;
  }

  /** The VPA's updater, a program of the node: it evicts pods whose requests lie outside their recommendation's bounds. */
  startVpaUpdater(plane: ControlPlane, timing: VpaTiming): Process {
    return this.run("vpa-updater", toolPath("vpa-updater"), [`--kubeconfig=${plane.kubeconfig}`, "--address=127.0.0.1:0", `--updater-interval=${timing.interval}`, "--v=2"]);
  }

  /** Stops programs of the node before its teardown; stopped on purpose, their exit no longer fails a wait. */
  async stopPrograms(processes: Process[]): Promise<void> {
    await stopProcesses(processes);
    for (const proc of processes) {
      const i = this.processes.indexOf(proc);
      if (i >= 0) this.processes.splice(i, 1);
    }
  }

  /** Stops the VPA's programs and removes its webhook registration, which it leaves behind. */
  async stopVpa(plane: ControlPlane, processes: Process[]): Promise<void> {
    await this.stopPrograms(processes);
    await plane.kubectl(["delete", "mutatingwebhookconfiguration", vpaWebhook, "--ignore-not-found"]);
  }

  /** A command inside the node's namespaces, to its end. */
  exec(file: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
    if (!this.holder?.pid) throw new Error("the node's namespaces are not made");
    return sh("nsenter", [`--target=${this.holder.pid}`, "--mount", "--net", "--", file, ...args], input);
  }

  private waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    return waitWhileRunning(this.processes, what, probe, timeoutMs);
  }

  ctr(args: string[]): { code: number; stdout: string; stderr: string } {
    return this.exec(toolPath("ctr"), ["--address", this.socket, "--namespace", "k8s.io", ...args]);
  }

  /** The pause image the sandboxes use: the one imported, never pulled. */
  static sandboxImage = "localhost/meme-generator/pause:3.10.2";

  private async startContainerd(): Promise<void> {
    const dir = this.path("containerd");
    const hostsDir = this.path("containerd", "certs.d");
    // Every registry resolves to a loopback port where nothing listens: a pull fails here, at once.
    for (const registry of ["_default", "docker.io", "registry.k8s.io", "localhost"]) {
      mkdirSync(join(hostsDir, registry), { recursive: true });
      writeFileSync(join(hostsDir, registry, "hosts.toml"), 'server = "http://127.0.0.1:9"\n\n[host."http://127.0.0.1:9"]\n  capabilities = ["pull", "resolve"]\n');
    }
    const cni = this.path("cni");
    mkdirSync(join(cni, "net.d"), { recursive: true });
    writeFileSync(
      join(cni, "net.d", "10-meme-node.conflist"),
      `${JSON.stringify(
        {
          cniVersion: "1.0.0",
          name: "meme-node",
          plugins: [
            {
              type: "bridge",
              bridge: "cni0",
              isGateway: true,
              ipMasq: false,
              hairpinMode: true,
              ipam: { type: "host-local", ranges: [[{ subnet: network.pods }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: join(cni, "ipam") },
            },
            { type: "portmap", capabilities: { portMappings: true } },
          ],
        },
        null,
        2,
      )}\n`,
    );
    const toml = (value: string) => JSON.stringify(value);
    writeFileSync(
      join(dir, "config.toml"),
      [
        "version = 3",
        `root = ${toml(join(dir, "root"))}`,
        `state = ${toml(join(dir, "state"))}`,
        "disabled_plugins = [\"io.containerd.nri.v1.nri\"]",
        "[grpc]",
        `  address = ${toml(this.socket)}`,
        "[ttrpc]",
        `  address = ${toml(`${this.socket}.ttrpc`)}`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = ${toml(join(dir, "opt"))}`,
        '[plugins."io.containerd.cri.v1.images"]',
        '  snapshotter = "overlayfs"',
        '  [plugins."io.containerd.cri.v1.images".pinned_images]',
        `    sandbox = ${toml(RealNode.sandboxImage)}`,
        '  [plugins."io.containerd.cri.v1.images".registry]',
        `    config_path = ${toml(hostsDir)}`,
        '[plugins."io.containerd.cri.v1.runtime"]',
        // This VM lacks CAP_SYS_RESOURCE: lowering a container's oom_score_adj below containerd's fails.
        "  restrict_oom_score_adj = true",
        // The pods' network namespaces are mounted under containerd's state, not /run/netns.
        "  netns_mounts_under_state_dir = true",
        '  [plugins."io.containerd.cri.v1.runtime".containerd]',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]',
        '        BinaryName = "/usr/sbin/runc"',
        "        SystemdCgroup = false",
        '  [plugins."io.containerd.cri.v1.runtime".cni]',
        '    bin_dirs = ["/usr/lib/cni"]',
        `    conf_dir = ${toml(join(cni, "net.d"))}`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        "",
      ].join("\n"),
    );
    this.run("containerd", toolPath("containerd"), ["--config", join(dir, "config.toml"), "--log-level", "info"]);
    await this.waitFor("containerd", () => this.ctr(["version"]).code === 0, 60_000);
  }

  /** Imports an image archive into the CRI's namespace under the name it carries. */
  importImage(archive: string): void {
    const out = this.ctr(["images", "import", "--snapshotter", "overlayfs", archive]);
    if (out.code !== 0) throw new Error(`ctr images import ${archive}: ${out.stderr}`);
  }

  /** containerd's log lines that speak of pulling an image: none, when nothing was pulled. */
  pulls(): string[] {
    const containerd = this.processes.find((p) => p.name === "containerd");
    return containerd ? readFileSync(containerd.log, "utf8").split("\n").filter((l) => /PullImage|pulling image|fetch failed/i.test(l)) : [];
  }

  private async startKubelet(plane: ControlPlane): Promise<void> {
    const dir = this.path("kubelet");
    mkdirSync(dir, { recursive: true });
    const resolvConf = this.path("resolv.conf");
    writeFileSync(resolvConf, "");
    const config = {
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      address: network.node,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: "127.0.0.1",
      healthzPort: 10248,
      tlsCertFile: join(plane.dir, "kubelet-serving.crt"),
      tlsPrivateKeyFile: join(plane.dir, "kubelet-serving.key"),
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: join(plane.dir, "ca.crt") } },
      authorization: { mode: "Webhook" },
      cgroupDriver: "cgroupfs",
      // A root of its own in every hierarchy (made by prepare()), removed at teardown.
      cgroupRoot: this.cgroupRoot,
      // This machine has cgroup v1 (hybrid); Kubernetes 1.35 and later refuse it unless told.
      failCgroupV1: false,
      containerRuntimeEndpoint: `unix://${this.socket}`,
      clusterDNS: [network.dns],
      clusterDomain: "cluster.local",
      // An empty file: pods learn no name server of the machine's, only the cluster's.
      resolvConf,
      failSwapOn: false,
      podLogsDir: this.path("pod-logs"),
      // The images are imported and can never be pulled again: never collect them.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%", "imagefs.inodesFree": "1%" },
      serializeImagePulls: false,
      nodeStatusUpdateFrequency: "5s",
      syncFrequency: "10s",
    };
    writeFileSync(join(dir, "config.yaml"), `${JSON.stringify(config, null, 2)}\n`);
    this.run("kubelet", toolPath("kubelet"), [
      `--config=${join(dir, "config.yaml")}`,
      `--kubeconfig=${this.path("kubelet.kubeconfig")}`,
      `--hostname-override=${nodeName}`,
      `--node-ip=${network.node}`,
      `--node-labels=${nodeLabel.key}=${nodeLabel.value}`,
      `--root-dir=${join(dir, "root")}`,
      `--cert-dir=${join(dir, "pki")}`,
      "--v=1",
    ]);
    await this.waitFor(
      `node ${nodeName} Ready`,
      async () => {
        const got = await plane.kubectl(["get", "node", nodeName, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return got.stdout === "True";
      },
      120_000,
    );
  }

  private async startKubeProxy(): Promise<void> {
    const config = {
      apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
      kind: "KubeProxyConfiguration",
      mode: "iptables",
      clientConnection: { kubeconfig: this.path("kube-proxy.kubeconfig") },
      hostnameOverride: nodeName,
      bindAddress: network.node,
      clusterCIDR: network.pods,
      healthzBindAddress: "127.0.0.1:10256",
      metricsBindAddress: "127.0.0.1:10249",
      // The conntrack table is the machine's: leave its size and timeouts alone.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    };
    writeFileSync(this.path("kube-proxy.yaml"), `${JSON.stringify(config, null, 2)}\n`);
    this.run("kube-proxy", toolPath("kube-proxy"), [`--config=${this.path("kube-proxy.yaml")}`, "--v=1"]);
    // Ready once it has written the rules of the `kubernetes` Service.
    await this.waitFor("kube-proxy's rules", () => this.exec("iptables-save", ["-t", "nat"]).stdout.includes("default/kubernetes:https"), 60_000);
  }

  /**
   * kube-router's firewall and nothing else of it (no routing, no service proxy, no CNI): it enforces
   * NetworkPolicies with iptables chains and ipsets in the node's network namespace, beside
   * kube-proxy's rules; the seal stays in its own nftables table, which kube-router never touches.
   * It reads pods, namespaces, nodes, Services, EndpointSlices and policies as a user of its own with
   * only those rights.
   */
  async startPolicies(plane: ControlPlane): Promise<void> {
    const user = "meme-node-policies";
    signCertificate(plane.dir, "policies", `/CN=${user}`, clientAuth);
    writeKubeconfig(this.path("policies.kubeconfig"), plane.server, plane.dir, user, "policies");
    const rbac = [
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: user }, rules: [
        { apiGroups: [""], resources: ["pods", "namespaces", "nodes", "services"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list", "watch"] },
      ] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: user },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: user },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }] },
    ];
    await plane.apply(rbac);
    this.run("kube-router", toolPath("kube-router"), [
      `--kubeconfig=${this.path("policies.kubeconfig")}`,
      `--hostname-override=${nodeName}`,
      "--run-firewall=true",
      "--run-router=false",
      "--run-service-proxy=false",
      "--run-loadbalancer=false",
      "--enable-cni=false",
      "--enable-pod-egress=false",
      `--service-cluster-ip-range=${network.services}`,
      "--health-addr=127.0.0.1",
      "--metrics-port=0",
      "--v=1",
    ]);
    // Ready once its chains hook the filter table.
    await this.waitFor("kube-router's firewall chains", () => this.exec("iptables-save", ["-t", "filter"]).stdout.includes("KUBE-ROUTER-FORWARD"), 60_000);
  }

  /**
   * CoreDNS as a pod on the node (the image built here), labelled as the chart's DNS peers expect and
   * behind the kubelet's cluster DNS address: it answers for cluster.local and the reverse zones and
   * with NXDOMAIN for every other name, which it never forwards anywhere.
   */
  async startDns(plane: ControlPlane, image: string): Promise<void> {
    const labels = { "k8s-app": "kube-dns" };
    const corefile = [
      "cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {",
      "    errors",
      "    health :8080",
      "    ready :8181",
      "    kubernetes cluster.local in-addr.arpa ip6.arpa {",
      "        pods insecure",
      "    }",
      "    cache 30",
      "}",
      ".:53 {",
      "    errors",
      "    template ANY ANY {",
      "        rcode NXDOMAIN",
      "    }",
      "}",
      "",
    ].join("\n");
    await plane.apply([
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: "kube-system" } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "meme-node:coredns" },
        rules: [
          { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        ],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "meme-node:coredns" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "meme-node:coredns" },
        subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: "kube-system" }],
      },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system" }, data: { Corefile: corefile } },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "coredns", namespace: "kube-system", labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: "coredns",
              nodeSelector: { [nodeLabel.key]: nodeLabel.value },
              // Port 53 without a capability: the pod's own network namespace lets uid 1000 bind it.
              securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" }, sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "53" }] },
              containers: [
                {
                  name: "coredns",
                  image,
                  imagePullPolicy: "Never",
                  args: ["-conf", "/etc/coredns/Corefile"],
                  ports: [
                    { name: "dns", containerPort: 53, protocol: "UDP" },
                    { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                  ],
                  readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 2 },
                  livenessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 },
                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                  volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
                },
              ],
              volumes: [{ name: "config", configMap: { name: "coredns" } }],
            },
          },
        },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kube-dns", namespace: "kube-system", labels },
        spec: {
          clusterIP: network.dns,
          selector: labels,
          ports: [
            { name: "dns", port: 53, protocol: "UDP" },
            { name: "dns-tcp", port: 53, protocol: "TCP" },
          ],
        },
      },
    ]);
    const rolled = await plane.kubectl(["rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=120s"]);
    if (rolled.code !== 0) throw new Error(`CoreDNS did not become ready: ${rolled.stderr}\n${(await plane.kubectl(["describe", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns"])).stdout}`);
  }

  /**
   * PersistentVolumes for the claims of StatefulSets: folders under the node's root, owned by uid
   * 1000 (a hostPath is not chowned for fsGroup), bound to this node, removed with it.
   */
  async makeVolumes(plane: ControlPlane, count: number): Promise<void> {
    const volumes = Array.from({ length: count }, (_, i) => {
      const path = this.path("volumes", `pv-${i}`);
      mkdirSync(path, { recursive: true, mode: 0o755 });
      must("chown", ["1000:1000", path]);
      return {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: `meme-node-volume-${i}` },
        spec: {
          capacity: { storage: "20Gi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          hostPath: { path, type: "Directory" },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [nodeName] }] }] } },
        },
      };
    });
    await plane.apply(volumes);
  }

  /** Empties one of those volumes (a folder under the node's root, nothing else), keeping it and its owner. */
  emptyVolume(path: string): void {
    const root = this.path("volumes");
    if (!path.startsWith(`${root}/`)) throw new Error(`${path} is not a volume of this node (${root})`);
    for (const entry of readdirSync(path)) rmSync(join(path, entry), { recursive: true, force: true });
  }

  /** Copies the node's logs (containerd, kubelet, kube-proxy, every container) to `folder`. */
  keepLogs(folder: string): void {
    keepProcessLogs(this.processes, folder);
    const pods = this.path("pod-logs");
    if (existsSync(pods)) sh("cp", ["-r", pods, join(folder, "pods")]);
  }

  async stop(): Promise<void> {
    await stopProcesses(this.processes);
    await removeNode(this.pid, this.holder?.pid);
    this.holder?.kill("SIGKILL");
  }
}
