// nats-server and redis-server as child processes on free loopback ports, with
// a temp folder for the JetStream store: for `start` on a developer's machine
// and for the integration tests. Never the default ports, never their data.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { authorizationBlock, defaultQueueNames, natsRoles, permissionsFor, type NatsRole, type NatsUser } from "../shared/permissions.js";

export class MissingBinaryError extends Error {
  override name = "MissingBinaryError";
}

/** A port the system has free now. */
function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Ports handed out by this process. Each stays unbound until its user listens, so the system may offer it again meanwhile. */
const handedOut = new Set<number>();

/** A free loopback port, never one this process has handed out before. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = await ephemeralPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free port that this process has not handed out already");
}

/** Resolves once `url` answers 2xx (a /readyz probe); rejects when it has not within the timeout. */
export async function waitReady(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await sleep(100);
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

/** Finds a server binary on PATH or in the Debian folders, or says how to install it. */
export function binaryOnPath(binary: string, install: string): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/usr/local/bin"])) {
    const candidate = join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new MissingBinaryError(`${binary} not found: install it with \`${install}\``);
}


/** Polls `probe` until it holds; rejects, with the child's output, when the child exits first or after the timeout. */
export async function waitFor(what: string, probe: () => Promise<boolean>, child: ChildProcess, output: () => string, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it was ready:\n${output()}`);
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${output()}`);
}

/** Sends one inline command on a fresh connection and resolves with the first reply line. */
function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let data = "";
    socket.setTimeout(1000, () => socket.destroy(new Error("timeout")));
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      data += chunk.toString();
      const end = data.indexOf("\r\n");
      if (end >= 0) {
        socket.end();
        resolve(data.slice(0, end));
      }
    });
    socket.connect(port, "127.0.0.1", () => {
      if (line) socket.write(`${line}\r\n`);
    });
  });
}

/**
 * Servers run in their own process group, so a Ctrl-C meant for us does not
 * stop them before we have drained our connections; whatever is still running
 * when this process exits is killed with it. A process killed outright runs no
 * exit handler, so where util-linux's setpriv is at hand the kernel is asked
 * to kill each server when its parent dies (the parent-death signal survives
 * the exec into the server).
 */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((candidate) => existsSync(candidate));

/** The command that starts `binary`, tied to this process's life where the system allows it. */
export function boundToParent(binary: string, args: string[]): { file: string; argv: string[] } {
  return setpriv ? { file: setpriv, argv: ["--pdeathsig", "KILL", "--", binary, ...args] } : { file: binary, argv: args };
}

/** A server process that can be stopped and started again on the same port and data. */
abstract class Managed {
  protected child: ChildProcess | undefined;
  private log = "";

  protected abstract command(): { binary: string; args: string[]; name: string };
  protected abstract ready(): Promise<boolean>;

  async start(): Promise<void> {
    if (this.child && this.child.exitCode === null) return;
    const { binary, args, name } = this.command();
    this.log = "";
    const { file, argv } = boundToParent(binary, args);
    const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.child = child;
    running.add(child);
    child.once("exit", () => running.delete(child));
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-8000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    await waitFor(name, () => this.ready(), child, () => this.log);
  }

  /** SIGTERM (or the given signal), then wait for the process to exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  get output(): string {
    return this.log;
  }
}

/**
 * Users of a NATS this project starts: one per tier with its permissions (permissions.ts), and, for a
 * test, an observer that may do anything (it deletes streams, pulls by hand, forges advisories).
 */
export interface NatsAuth {
  passwords: Record<NatsRole, string>;
  observer?: string;
}

/** A random password of 24 letters and digits: it is printed in commands, so never one a CLI could take for a flag. */
export function randomPassword(): string {
  let letters = "";
  while (letters.length < 24) letters += randomBytes(24).toString("base64url").replace(/[-_]/g, "");
  return letters.slice(0, 24);
}

/** Passwords for every tier user: random, one each, or `shared` for all (a test's processes share one env). */
export function natsPasswords(shared?: string): Record<NatsRole, string> {
  return Object.fromEntries(natsRoles.map((role) => [role, shared ?? randomPassword()])) as Record<NatsRole, string>;
}

export class NatsServer extends Managed {
  readonly storeDir: string;
  readonly binary: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly jetstream: boolean;
  readonly auth: NatsAuth | undefined;
  private constructor(binary: string, port: number, monitorPort: number, jetstream: boolean, auth: NatsAuth | undefined) {
    super();
    this.binary = binary;
    this.port = port;
    this.monitorPort = monitorPort;
    this.jetstream = jetstream;
    this.auth = auth;
    this.storeDir = mkdtempSync(join(tmpdir(), "meme-nats-"));
    if (auth) {
      const grants = permissionsFor(defaultQueueNames);
      const users: NatsUser[] = natsRoles.map((role) => ({ user: role, password: auth.passwords[role], permissions: grants[role] }));
      if (auth.observer) users.push({ user: "observer", password: auth.observer });
      writeFileSync(this.configFile, authorizationBlock(users), { mode: 0o600 });
    }
  }

  /** Users with permissions when `auth` is given; without it, any client may do anything. */
  static async create(binary: string, options: { jetstream?: boolean; auth?: NatsAuth } = {}): Promise<NatsServer> {
    return new NatsServer(binary, await freePort(), await freePort(), options.jetstream ?? true, options.auth);
  }

  private get configFile(): string {
    return join(this.storeDir, "users.conf");
  }

  /** How a test's observer connects: every subject, or no credentials on a NATS without users. */
  get observer(): { servers: string; user?: string; pass?: string } {
    return this.auth?.observer ? { servers: this.url, user: "observer", pass: this.auth.observer } : { servers: this.url };
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** host:port of the monitoring endpoint, the form KEDA's trigger takes. */
  get monitoringEndpoint(): string {
    return `127.0.0.1:${this.monitorPort}`;
  }

  get version(): string {
    const out = spawnSync(this.binary, ["--version"], { encoding: "utf8" });
    return (out.stdout || out.stderr).trim().replace(/^nats-server:\s*/, "");
  }

  protected command() {
    const args = ["-a", "127.0.0.1", "-p", String(this.port), "-m", String(this.monitorPort)];
    if (this.auth) args.push("-c", this.configFile);
    if (this.jetstream) args.push("-js", "-sd", this.storeDir);
    return { binary: this.binary, args, name: `nats-server on port ${this.port}` };
  }

  protected async ready(): Promise<boolean> {
    const response = await fetch(`http://${this.monitoringEndpoint}/healthz`);
    return response.ok && (await ask(this.port, "")).startsWith("INFO");
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

export class RedisServer extends Managed {
  readonly binary: string;
  readonly port: number;
  /** Required of every client when set (`requirepass`); empty: none. */
  readonly password: string;
  private constructor(binary: string, port: number, password: string) {
    super();
    this.binary = binary;
    this.port = port;
    this.password = password;
  }

  static async create(options: { password?: string } = {}): Promise<RedisServer> {
    return new RedisServer(binaryOnPath("redis-server", "apt-get install redis-server"), await freePort(), options.password ?? "");
  }

  /** The address, as REDIS_URL takes it (the password goes in REDIS_PASSWORD). */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The address with the password in it, for a client of a test's own. */
  get clientUrl(): string {
    return this.password ? `redis://:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}` : this.url;
  }

  protected command() {
    const args = ["--bind", "127.0.0.1", "--port", String(this.port), "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", tmpdir(), "--logfile", ""];
    if (this.password) args.push("--requirepass", this.password);
    return { binary: this.binary, args, name: `redis-server on port ${this.port}` };
  }

  protected async ready(): Promise<boolean> {
    return this.password ? (await ask(this.port, `AUTH ${this.password}`)) === "+OK" : (await ask(this.port, "PING")) === "+PONG";
  }
}

