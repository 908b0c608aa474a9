// containerd v2 of the pinned module with Debian's runc, private to one test run: its own root,
// state and socket, every container in a network namespace the run creates (loopback only).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { eventually } from "../harness/eventually.js";
import { toolPath } from "../toolchain/toolchain.mjs";

/** The capabilities a container gets unless told otherwise: all dropped, as the chart drops ALL. */
const DEFAULT_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

export interface RunOptions {
  image: string;
  /** The whole command: the image's entrypoint and the pod's args, as the kubelet joins them. */
  command: string[];
  env?: Record<string, string>;
  /** Read-only bind mounts, host path → container path. */
  binds?: Record<string, string>;
  /** Writable bind mounts (the pod's volumes), host path → container path. */
  volumes?: Record<string, string>;
  memoryBytes?: number;
  cpus?: number;
  user?: string;
}

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

export class Containerd {
  readonly dir = mkdtempSync(join(tmpdir(), "meme-containerd-"));
  readonly socket = join(this.dir, "containerd.sock");
  readonly netns = `meme-img-${process.pid}`;
  readonly namespace = "meme";
  private daemon: ChildProcess | undefined;
  private log = "";
  private execs = 0;

  async start(): Promise<void> {
    const netns = spawnSync("ip", ["netns", "add", this.netns], { encoding: "utf8" });
    if (netns.status !== 0) throw new Error(`ip netns add ${this.netns}: ${netns.stderr}`);
    spawnSync("ip", ["-n", this.netns, "link", "set", "lo", "up"]);
    writeFileSync(
      join(this.dir, "config.toml"),
      [
        "version = 3",
        `root = "${join(this.dir, "root")}"`,
        `state = "${join(this.dir, "state")}"`,
        // Only what `ctr run` needs: no CRI (the real-node suite has its own), no NRI socket.
        'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.nri.v1.nri", "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.sandbox.controller.v1.shim"]',
        "[grpc]",
        `  address = "${this.socket}"`,
        "[ttrpc]",
        `  address = "${this.socket}.ttrpc"`,
        "",
      ].join("\n"),
    );
    const path = [dirname(toolPath("containerd-shim-runc-v2")), "/usr/sbin", "/usr/bin", process.env.PATH ?? ""].join(":");
    this.daemon = spawn(toolPath("containerd"), ["--config", join(this.dir, "config.toml")], { env: { ...process.env, PATH: path }, stdio: ["ignore", "pipe", "pipe"] });
    this.daemon.stdout?.on("data", (d) => (this.log += d));
    this.daemon.stderr?.on("data", (d) => (this.log += d));
    await eventually(() => this.ctr(["version"]).code === 0, { timeout: 30_000, interval: 200, what: `containerd answering on ${this.socket}`, detail: () => this.log.slice(-2000) });
  }

  ctr(args: string[], timeoutMs = 120_000): Exec {
    const out = spawnSync(toolPath("ctr"), ["--address", this.socket, "--namespace", this.namespace, ...args], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    // containerd warns on every call that cgroup v1 is deprecated; that is the machine, not the call.
    const stderr = (out.stderr ?? "").split("\n").filter((l) => !l.includes("DEPRECATION: The support for cgroup v1")).join("\n").trim();
    return { code: out.status ?? 1, stdout: out.stdout ?? "", stderr };
  }

  import(archive: string): void {
    const out = this.ctr(["images", "import", "--no-unpack=false", archive]);
    if (out.code !== 0) throw new Error(`ctr images import ${archive}: ${out.stderr}`);
  }

  /** `ctr run` as the chart runs its containers: read-only root, no capabilities, default seccomp, a tmpfs on /tmp. */
  private runArgs(id: string, o: RunOptions, detach: boolean): string[] {
    const args = ["run", detach ? "--detach" : "--rm", "--read-only", "--user", o.user ?? "1000:1000", "--seccomp"];
    for (const cap of DEFAULT_CAPS) args.push("--cap-drop", cap);
    args.push("--mount", "type=tmpfs,dst=/tmp,options=rw:nosuid:nodev:mode=1777:size=67108864");
    // containerd's CRI shows every container its own cgroups, read-only; `ctr run` does not unless asked.
    args.push("--mount", "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev");
    // The kubelet gives every container an /etc/hosts; scratch images have none of their own.
    args.push("--mount", `type=bind,src=${this.hosts()},dst=/etc/hosts,options=rbind:ro`);
    for (const [src, dst] of Object.entries(o.binds ?? {})) args.push("--mount", `type=bind,src=${src},dst=${dst},options=rbind:ro`);
    for (const [src, dst] of Object.entries(o.volumes ?? {})) args.push("--mount", `type=bind,src=${src},dst=${dst},options=rbind:rw`);
    if (o.memoryBytes) args.push("--memory-limit", String(o.memoryBytes));
    if (o.cpus) args.push("--cpus", String(o.cpus));
    for (const [k, v] of Object.entries(o.env ?? {})) args.push("--env", `${k}=${v}`);
    args.push("--with-ns", `network:/var/run/netns/${this.netns}`);
    if (detach) args.push("--log-uri", `file://${join(this.dir, `${id}.log`)}`);
    return [...args, o.image, id, ...o.command];
  }

  /** Runs a container to its end and returns what it printed. */
  runOnce(id: string, o: RunOptions, timeoutMs = 120_000): Exec {
    return this.ctr(this.runArgs(id, o, false), timeoutMs);
  }

  /** Starts a container in the background; its output goes to logs(id). */
  runDetached(id: string, o: RunOptions): void {
    const out = this.ctr(this.runArgs(id, o, true));
    if (out.code !== 0) throw new Error(`ctr run ${id}: ${out.stderr}`);
  }

  logs(id: string): string {
    try {
      return readFileSync(join(this.dir, `${id}.log`), "utf8");
    } catch {
      return "";
    }
  }

  /** A command inside a running container, as a probe or `kubectl exec` runs one. */
  exec(id: string, command: string[], env: Record<string, string> = {}): Exec {
    const args = ["task", "exec", "--exec-id", `probe-${++this.execs}`];
    for (const [k, v] of Object.entries(env)) args.push("--env", `${k}=${v}`);
    return this.ctr([...args, id, ...command], 60_000);
  }

  /** A container's task as `ctr task ls` lists it: its pid and status; undefined when it has none. */
  private task(id: string): { pid: number; status: string } | undefined {
    const line = this.ctr(["task", "ls"]).stdout.split("\n").find((l) => l.split(/\s+/)[0] === id);
    const [, pid, status] = line?.trim().split(/\s+/) ?? [];
    return line ? { pid: Number(pid), status: status ?? "" } : undefined;
  }

  /** RUNNING, STOPPED, … of a container's task; undefined when it has none. */
  status(id: string): string | undefined {
    return this.task(id)?.status;
  }

  pid(id: string): number {
    return Number(this.task(id)?.pid);
  }

  /** A command on the host inside the containers' network namespace (the kubelet's side of an httpGet probe). */
  inNetns(command: string[], timeoutMs = 30_000): Exec {
    const out = spawnSync("ip", ["netns", "exec", this.netns, ...command], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: out.status ?? 1, stdout: out.stdout ?? "", stderr: out.stderr ?? "" };
  }

  /** An HTTP GET from inside the namespace: status and body. */
  get(url: string, out?: string): { status: number; body: string } {
    const args = ["curl", "-s", "-m", "5", "-o", out ?? "-", "-w", "\n%{http_code}", url];
    const res = this.inNetns(args);
    const lines = res.stdout.split("\n");
    const status = Number(lines.pop());
    return { status: Number.isFinite(status) ? status : 0, body: lines.join("\n") };
  }

  /** Each task's id and status (RUNNING, STOPPED, …) as `ctr task ls` lists them. */
  private tasks(): { id: string; status: string }[] {
    return this.ctr(["task", "ls"])
      .stdout.split("\n")
      .slice(1)
      .flatMap((line) => {
        const [id, , status = ""] = line.trim().split(/\s+/);
        return id ? [{ id, status }] : [];
      });
  }

  async stop(): Promise<void> {
    for (const { id } of this.tasks()) this.ctr(["task", "kill", "--signal", "SIGKILL", id]);
    // Each task is deleted once it has stopped; --force for one that has not within 5 s.
    await eventually(() => this.tasks().every((task) => task.status === "STOPPED"), { timeout: 5000, interval: 100 }).catch(() => undefined);
    for (const { id } of this.tasks()) this.ctr(["task", "delete", "--force", id]);
    for (const line of this.ctr(["containers", "ls", "-q"]).stdout.split("\n")) if (line.trim()) this.ctr(["containers", "delete", line.trim()]);
    const daemon = this.daemon;
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise((resolve) => daemon.once("exit", resolve));
      daemon.kill("SIGTERM");
      const stopped = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000).unref())]);
      if (!stopped) daemon.kill("SIGKILL");
    }
    spawnSync("ip", ["netns", "del", this.netns]);
    spawnSync("umount", ["-R", join(this.dir, "root")], { stdio: "ignore" });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private hosts(): string {
    const path = join(this.dir, "hosts");
    writeFileSync(path, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    return path;
  }

  makeDir(name: string, uid = 1000): string {
    const path = join(this.dir, "volumes", name);
    mkdirSync(path, { recursive: true });
    spawnSync("chown", [`${uid}:${uid}`, path]);
    return path;
  }

  writeFile(name: string, content: string): string {
    const path = join(this.dir, "files", name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content, { mode: 0o644 });
    return path;
  }
}
