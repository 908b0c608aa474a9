// A Kubernetes control plane as local processes, built from the pinned modules
// of test/toolchain: etcd and kube-apiserver on loopback with certificates made
// here by openssl; optionally kube-controller-manager, kube-scheduler and kwok,
// which plays simulated nodes and the pods scheduled to them (kwok-stages.yaml),
// with PersistentVolumes made beforehand for the claims, since no storage
// provisioner exists. Every process logs to a file in the control plane's
// folder, which the tests copy to .artifacts/ when something fails.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort } from "../../src/local/servers.js";
import { eventually, GiveUp } from "../harness/eventually.js";
import { toolPath } from "../toolchain/toolchain.mjs";

/** The Service network of the cluster; the API server's own Service takes its first address. */
export const serviceCidr = "10.96.0.0/16";
const kubernetesServiceIp = "10.96.0.1";

export interface Command {
  stdout: string;
  stderr: string;
  code: number;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A key and a certificate `name`.key/.crt in `dir`, signed by the CA there. */
export function signCertificate(dir: string, name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`]);
}

export const clientAuth = "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n";

/**
 * A CA, the API server's serving certificate (for loopback and `address`), an admin client certificate,
 * the API server's client certificate for kubelets and the service-account key pair.
 */
function makeCertificates(dir: string, address: string): void {
  openssl(dir, ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=meme-generator-e2e-ca"]);
  const sign = (name: string, subject: string, extensions: string) => signCertificate(dir, name, subject, extensions);
  const ips = [...new Set(["127.0.0.1", address, kubernetesServiceIp])].map((ip) => `IP:${ip}`).join(",");
  sign(
    "apiserver",
    "/CN=kube-apiserver",
    `subjectAltName=${ips},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
  );
  sign("admin", "/O=system:masters/CN=meme-generator-e2e-admin", clientAuth);
  // exec, logs, port-forward and metrics on a real node's kubelet.
  sign("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", clientAuth);
  // The aggregation layer's client (kube-apiserver → the KEDA metrics adapter).
  sign("front-proxy-client", "/CN=front-proxy-client", "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n");
  // KEDA: the adapter serves with it, and operator and adapter use it for mutual TLS on their gRPC link.
  sign(
    "keda",
    "/CN=keda",
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:keda-operator.keda.svc.cluster.local,DNS:keda-metrics-apiserver.keda.svc,DNS:keda-metrics-apiserver.keda.svc.cluster.local\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
  );
  openssl(dir, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key"]);
  openssl(dir, ["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
}

/** Whatever is still running when the test process exits, for any reason, goes with it. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** A program run by a test, logging to a file of its own. */
export interface Process {
  name: string;
  child: ChildProcess;
  log: string;
}

/** Starts a program with its output in `log`; it is killed with the test process if it still runs then. */
export function startProcess(name: string, file: string, args: string[], env: Record<string, string>, log: string): Process {
  mkdirSync(dirname(log), { recursive: true });
  const out = createWriteStream(log);
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  running.add(child);
  child.once("exit", () => running.delete(child));
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return { name, child, log };
}

function tail(proc: Process): string {
  try {
    return readFileSync(proc.log, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "";
  }
}

/**
 * Polls `probe` until it holds. Fails at once, with that process's log, when one of `processes`
 * exits meanwhile, and after `timeoutMs` with every process's log.
 */
export async function waitWhileRunning(processes: Process[], what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  await eventually(
    () => {
      const dead = processes.find((p) => p.child.exitCode !== null);
      if (dead) throw new GiveUp(`${dead.name} exited with ${dead.child.exitCode} while waiting for ${what}:\n${tail(dead)}`);
      return probe();
    },
    { timeout: timeoutMs, interval: 200, what, detail: () => processes.map((p) => `--- ${p.name}\n${tail(p)}`).join("\n") },
  );
}

/** A kubeconfig for one client certificate of the e2e CA in `dir` (`<cert>.crt`, `<cert>.key`). */
export function writeKubeconfig(file: string, server: string, dir: string, user: string, cert: string): void {
  writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: e2e",
      "  cluster:",
      `    server: ${server}`,
      `    certificate-authority: ${join(dir, "ca.crt")}`,
      "users:",
      `- name: ${user}`,
      "  user:",
      `    client-certificate: ${join(dir, `${cert}.crt`)}`,
      `    client-key: ${join(dir, `${cert}.key`)}`,
      "contexts:",
      "- name: e2e",
      `  context: { cluster: e2e, user: ${user} }`,
      "current-context: e2e",
      "",
    ].join("\n"),
  );
}

/** Copies each process's log to `folder`. */
export function keepProcessLogs(processes: Process[], folder: string): void {
  mkdirSync(folder, { recursive: true });
  for (const proc of processes) {
    try {
      writeFileSync(join(folder, `${proc.name}.log`), readFileSync(proc.log));
    } catch {
      // a process that never wrote has nothing to keep
    }
  }
}

/** Stops the processes, the last started first: SIGTERM, then SIGKILL for one still running 10 s later. */
export async function stopProcesses(processes: Process[]): Promise<void> {
  for (const { child } of [...processes].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface ControlPlaneOptions {
  /**
   * The controllers of kube-controller-manager to run (its --controllers), e.g. only those that make
   * the `default` ServiceAccount of each namespace and delete namespaces; all of them when nodes are asked for.
   */
  controllers?: string[];
  /** Also run kube-scheduler and kwok with this many simulated nodes (and every controller). */
  nodes?: number;
  /** PersistentVolumes to make for the claims of StatefulSets. */
  volumes?: number;
  /**
   * The address the API server binds to and advertises, which the `kubernetes` Service points at: a
   * test-created interface's, for a real node whose pods must reach it. Loopback by default.
   */
  address?: string;
}

export class ControlPlane {
  readonly kubeconfig: string;
  readonly server: string;
  private readonly processes: Process[] = [];

  readonly dir: string;
  readonly apiPort: number;
  readonly address: string;
  private constructor(dir: string, apiPort: number, address: string) {
    this.dir = dir;
    this.apiPort = apiPort;
    this.address = address;
    this.server = `https://${address}:${apiPort}`;
    this.kubeconfig = join(dir, "kubeconfig");
  }

  /** Starts etcd and kube-apiserver (and the controllers when asked) and waits until the API is ready. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const dir = mkdtempSync(join(tmpdir(), "meme-generator-e2e-"));
    const plane = new ControlPlane(dir, await freePort(), options.address ?? "127.0.0.1");
    try {
      makeCertificates(dir, plane.address);
      writeKubeconfig(plane.kubeconfig, plane.server, dir, "admin", "admin");
      await plane.startEtcd();
      await plane.startApiServer();
      if (options.nodes) {
        await plane.startControllers(["*"]);
        await plane.startScheduler();
        await plane.startNodes(options.nodes);
        await plane.makeVolumes(options.volumes ?? 0);
      } else if (options.controllers) {
        await plane.startControllers(options.controllers);
      }
    } catch (error) {
      await plane.stop();
      throw error;
    }
    return plane;
  }

  private run(name: string, args: string[], env: Record<string, string> = {}): Process {
    const proc = startProcess(name, toolPath(name), args, env, join(this.dir, `${name}.log`));
    this.processes.push(proc);
    return proc;
  }

  private waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    return waitWhileRunning(this.processes, what, probe, timeoutMs);
  }

  private etcdUrl = "";

  private async startEtcd(): Promise<void> {
    const [client, peer] = [await freePort(), await freePort()];
    this.etcdUrl = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    this.run("etcd", [
      "--name=e2e",
      `--data-dir=${join(this.dir, "etcd")}`,
      `--listen-client-urls=${this.etcdUrl}`,
      `--advertise-client-urls=${this.etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=e2e=${peerUrl}`,
      // A throwaway store: durability buys nothing here and fsyncs slow every write.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await this.waitFor("etcd", async () => (await fetch(`${this.etcdUrl}/health`)).ok, 30_000);
  }

  private async startApiServer(): Promise<void> {
    const file = (name: string) => join(this.dir, name);
    this.run("kube-apiserver", [
      `--etcd-servers=${this.etcdUrl}`,
      `--bind-address=${this.address}`,
      `--advertise-address=${this.address}`,
      `--secure-port=${this.apiPort}`,
      // A real node's kubelet listens on its InternalIP only (the default tries the hostname first).
      "--kubelet-preferred-address-types=InternalIP",
      `--kubelet-client-certificate=${file("apiserver-kubelet-client.crt")}`,
      `--kubelet-client-key=${file("apiserver-kubelet-client.key")}`,
      `--cert-dir=${file("certs")}`,
      `--tls-cert-file=${file("apiserver.crt")}`,
      `--tls-private-key-file=${file("apiserver.key")}`,
      `--client-ca-file=${file("ca.crt")}`,
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${file("sa.pub")}`,
      `--service-account-signing-key-file=${file("sa.key")}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      "--authorization-mode=Node,RBAC",
      // The aggregation layer, for the external metrics API that KEDA's adapter serves.
      `--proxy-client-cert-file=${file("front-proxy-client.crt")}`,
      `--proxy-client-key-file=${file("front-proxy-client.key")}`,
      `--requestheader-client-ca-file=${file("ca.crt")}`,
      "--requestheader-allowed-names=front-proxy-client",
      "--requestheader-username-headers=X-Remote-User",
      "--requestheader-group-headers=X-Remote-Group",
      "--requestheader-extra-headers-prefix=X-Remote-Extra-",
      "--allow-privileged=false",
      "--profiling=false",
      "--v=1",
    ]);
    await this.waitFor("kube-apiserver", () => this.ready(), 120_000);
  }

  private async startControllers(controllers: string[]): Promise<void> {
    const file = (name: string) => join(this.dir, name);
    this.run("kube-controller-manager", [
      `--kubeconfig=${this.kubeconfig}`,
      `--authentication-kubeconfig=${this.kubeconfig}`,
      `--authorization-kubeconfig=${this.kubeconfig}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--leader-elect=false",
      `--service-account-private-key-file=${file("sa.key")}`,
      `--root-ca-file=${file("ca.crt")}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      "--use-service-account-credentials=true",
      `--controllers=${controllers.join(",")}`,
      "--v=1",
    ]);
    // The ServiceAccount controller makes `default` in every namespace: a sign the controllers run.
    await this.waitFor("the default ServiceAccount", async () => (await this.kubectl(["get", "serviceaccount", "default", "-n", "default"])).code === 0, 60_000);
  }

  private async startScheduler(): Promise<void> {
    this.run("kube-scheduler", [`--kubeconfig=${this.kubeconfig}`, `--authentication-kubeconfig=${this.kubeconfig}`, `--authorization-kubeconfig=${this.kubeconfig}`, "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false", "--v=1"]);
  }

  /** kwok and `count` Nodes it plays, Ready and schedulable. */
  private async startNodes(count: number): Promise<void> {
    this.run("kwok", [
      `--kubeconfig=${this.kubeconfig}`,
      `--config=${join(import.meta.dirname, "kwok-stages.yaml")}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      "--cidr=10.244.0.0/16",
      "--node-ip=10.240.0.1",
      `--server-address=127.0.0.1:${await freePort()}`,
      "--node-lease-duration-seconds=40",
      "--v=1",
    ]);
    const nodes = Array.from({ length: count }, (_, i) => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: `kwok-node-${i}`,
        annotations: { "kwok.x-k8s.io/node": "fake" },
        labels: { "kubernetes.io/hostname": `kwok-node-${i}`, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": `zone-${i % 3}` },
      },
    }));
    await this.apply(nodes);
    await this.waitFor(`${count} Ready nodes`, async () => {
      const got = await this.kubectl(["get", "nodes", "-o", "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"]);
      return got.stdout.split("\n").filter((s) => s === "True").length === count;
    }, 60_000);
  }

  /** PersistentVolumes of 20 GiB without a class, which claims without a class bind to. */
  private async makeVolumes(count: number): Promise<void> {
    if (count === 0) return;
    const volumes = Array.from({ length: count }, (_, i) => ({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `e2e-volume-${i}` },
      spec: { capacity: { storage: "20Gi" }, accessModes: ["ReadWriteOnce"], persistentVolumeReclaimPolicy: "Retain", hostPath: { path: `/var/lib/e2e-volume-${i}` } },
    }));
    await this.apply(volumes);
  }

  /**
   * KEDA's operator and metrics adapter as local processes, serving the external metrics API through
   * the aggregation layer: an APIService whose Service (type ExternalName) points at localhost, or at
   * `on.address` when `on.run` starts them elsewhere (a real node: there they resolve cluster names
   * and their traffic is the node's). They talk to each other on loopback either way.
   */
  async startKeda(on?: { run: (name: string, file: string, args: string[], env: Record<string, string>) => Process; address: string }): Promise<Process[]> {
    const certs = join(this.dir, "keda-certs");
    mkdirSync(certs, { recursive: true });
    for (const [from, to] of [["ca.crt", "ca.crt"], ["keda.crt", "tls.crt"], ["keda.key", "tls.key"]] as const) writeFileSync(join(certs, to), readFileSync(join(this.dir, from)));
    const [grpc, adapter] = [await freePort(), await freePort()];
    // WATCH_NAMESPACE empty: ScaledObjects in every namespace.
    const env = { KUBECONFIG: this.kubeconfig, WATCH_NAMESPACE: "", POD_NAMESPACE: "keda", KEDA_CLUSTER_OBJECT_NAMESPACE: "keda" };
    const run = (name: string, args: string[]) => (on ? on.run(name, toolPath(name), args, env) : this.run(name, args, env));
    await this.apply([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "keda" } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "keda-metrics-apiserver", namespace: "keda" }, spec: { type: "ExternalName", externalName: on?.address ?? "localhost", ports: [{ name: "https", port: adapter }] } },
      {
        apiVersion: "apiregistration.k8s.io/v1",
        kind: "APIService",
        metadata: { name: "v1beta1.external.metrics.k8s.io" },
        spec: {
          group: "external.metrics.k8s.io",
          version: "v1beta1",
          service: { name: "keda-metrics-apiserver", namespace: "keda", port: adapter },
          caBundle: readFileSync(join(this.dir, "ca.crt")).toString("base64"),
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
      // The HPA controller reads external metrics as its own ServiceAccount.
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "keda-external-metrics-reader" }, rules: [{ apiGroups: ["external.metrics.k8s.io"], resources: ["*"], verbs: ["get", "list", "watch"] }] },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "keda-hpa-controller-external-metrics" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "keda-external-metrics-reader" },
        subjects: [{ kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" }],
      },
    ]);
    const operator = run(
      "keda-operator",
      [
        "--leader-elect=false",
        `--metrics-bind-address=127.0.0.1:${await freePort()}`,
        `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
        `--metrics-service-bind-address=127.0.0.1:${grpc}`,
        `--cert-dir=${certs}`,
        "--enable-cert-rotation=false",
        "--enable-webhook-patching=false",
        "--enable-apiservice-patching=false",
        "--zap-log-level=info",
      ],
    );
    const metricsAdapter = run(
      "keda-adapter",
      [
        `--secure-port=${adapter}`,
        `--bind-address=${on?.address ?? "127.0.0.1"}`,
        `--cert-dir=${certs}`,
        `--tls-cert-file=${join(certs, "tls.crt")}`,
        `--tls-private-key-file=${join(certs, "tls.key")}`,
        `--lister-kubeconfig=${this.kubeconfig}`,
        `--authentication-kubeconfig=${this.kubeconfig}`,
        `--authorization-kubeconfig=${this.kubeconfig}`,
        `--metrics-service-address=127.0.0.1:${grpc}`,
        `--port=${await freePort()}`,
        "--v=1",
      ],
    );
    await waitWhileRunning(
      [...this.processes, operator, metricsAdapter],
      "the external metrics API",
      async () => (await this.kubectl(["get", "--raw", "/apis/external.metrics.k8s.io/v1beta1"])).code === 0,
      120_000,
    );
    return [operator, metricsAdapter];
  }

  /** Creates or updates objects given as JSON. */
  async apply(objects: object[]): Promise<void> {
    const result = await this.kubectl(["apply", "-f", "-"], objects.map((o) => JSON.stringify(o)).join("\n---\n"));
    if (result.code !== 0) throw new Error(`kubectl apply exited ${result.code}: ${result.stderr}`);
  }

  /** GET a path of the API as the admin: its status and body. */
  private get(path: string): Promise<{ status: number; body: string }> {
    this.tls ??= { ca: readFileSync(join(this.dir, "ca.crt")), cert: readFileSync(join(this.dir, "admin.crt")), key: readFileSync(join(this.dir, "admin.key")) };
    const tls = this.tls;
    return new Promise((resolve, reject) => {
      const req = request(`${this.server}${path}`, { ...tls, timeout: 5000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error(`GET ${path}: timed out`)));
      req.end();
    });
  }

  private tls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;

  /** GET a path of the API, parsed as JSON; faster than a kubectl process for polling. */
  async api<T>(path: string): Promise<T> {
    const { status, body } = await this.get(path);
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${body.slice(0, 300)}`);
    return JSON.parse(body) as T;
  }

  private async ready(): Promise<boolean> {
    return (await this.get("/readyz")).status === 200;
  }

  /** Runs the pinned kubectl against this control plane. */
  kubectl(args: string[], input?: string): Promise<Command> {
    return runCommand(toolPath("kubectl"), args, { KUBECONFIG: this.kubeconfig }, input);
  }

  /** Copies every process's log to `folder`. */
  keepLogs(folder: string): void {
    keepProcessLogs(this.processes, folder);
  }

  async stop(): Promise<void> {
    await stopProcesses(this.processes);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs a command to its end, collecting its output; never throws for a non-zero exit. Killed at `timeoutMs` when given. */
export function runCommand(file: string, args: string[], env: Record<string, string>, input?: string, timeoutMs?: number): Promise<Command> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (error) => resolve({ stdout, stderr: `${stderr}${error.message}\n`, code: 127 }));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? 1 });
    });
    child.stdin.end(input ?? "");
  });
}
