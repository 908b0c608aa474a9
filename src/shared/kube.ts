// A small reader of the Kubernetes API: where to reach it (the kubeconfig's current context, or the
// pod's own service account when running in a cluster), GET of JSON or text, and watches that keep a
// list current; the few writes a data move needs (a merge or JSON patch, a delete).
// Kubeconfig credentials: a token or token file, a client certificate and key (inline or files), or
// an exec plugin (the ExecCredential a cloud's CLI prints); a CA inline or from a file.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";

/** One line of a watch: what happened to which object (ERROR carries a Status; BOOKMARK only a resourceVersion). */
export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** Where the API server is and who asks. */
export interface KubeAccess {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  /** A token file read again for every request (a pod's projected token is renewed while it runs). */
  tokenFile?: string;
  insecure: boolean;
  /** The context's namespace, or the service account's. */
  namespace: string;
  /** Which kubeconfig and context, or "in-cluster". */
  source: string;
}

/** No way to reach the API server could be worked out. */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

/** The API server answered with an error status (404: no such object or kind). */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  readonly status: number;
  readonly path: string;
  constructor(status: number, path: string, message: string, method = "GET") {
    super(`${method} ${path}: ${status} ${message}`);
    this.status = status;
    this.path = path;
  }
}

const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount";

type Named<T> = { name: string } & Record<string, T | undefined>;
interface KubeConfigFile {
  "current-context"?: string;
  contexts?: Named<{ cluster: string; user: string; namespace?: string }>[];
  clusters?: Named<{ server: string; "certificate-authority"?: string; "certificate-authority-data"?: string; "insecure-skip-tls-verify"?: boolean }>[];
  users?: Named<{
    token?: string;
    tokenFile?: string;
    "client-certificate"?: string;
    "client-certificate-data"?: string;
    "client-key"?: string;
    "client-key-data"?: string;
    exec?: { command: string; args?: string[]; env?: { name: string; value: string }[] };
  }>[];
}

/**
 * How to reach the API server: $KUBECONFIG (its first file that exists), else ~/.kube/config, else the
 * pod's service account. `context` picks a context other than the current one.
 */
export function kubeAccess(env: NodeJS.ProcessEnv = process.env, context?: string): KubeAccess {
  const candidates = env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter(Boolean) : [join(env.HOME ?? homedir(), ".kube", "config")];
  const file = candidates.find((f) => existsSync(f));
  if (file) return fromKubeconfig(file, env, context);
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(serviceAccount, "token"))) {
    const host = env.KUBERNETES_SERVICE_HOST.includes(":") ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST;
    return {
      server: `https://${host}:${env.KUBERNETES_SERVICE_PORT ?? "443"}`,
      ca: readFileSync(join(serviceAccount, "ca.crt")),
      token: readFileSync(join(serviceAccount, "token"), "utf8").trim(),
      tokenFile: join(serviceAccount, "token"),
      insecure: false,
      namespace: existsSync(join(serviceAccount, "namespace")) ? readFileSync(join(serviceAccount, "namespace"), "utf8").trim() : "default",
      source: "in-cluster (the pod's service account)",
    };
  }
  throw new KubeConfigError(`no kubeconfig (looked for ${candidates.join(", ")}) and not in a cluster: set KUBECONFIG or pass --kubeconfig`);
}

function fromKubeconfig(file: string, env: NodeJS.ProcessEnv, wanted?: string): KubeAccess {
  let config: KubeConfigFile;
  try {
    config = (parse(readFileSync(file, "utf8")) ?? {}) as KubeConfigFile;
  } catch (error) {
    throw new KubeConfigError(`${file} is not a kubeconfig: ${(error as Error).message}`);
  }
  const name = wanted ?? config["current-context"];
  if (!name) throw new KubeConfigError(`${file} has no current-context: pass --context`);
  const context = config.contexts?.find((c) => c.name === name)?.context;
  if (!context) throw new KubeConfigError(`${file} has no context ${name}`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) throw new KubeConfigError(`${file}: context ${name} names cluster ${context.cluster}, which has no server`);
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  const base = dirname(file);
  const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(isAbsolute(path) ? path : join(base, path)));
  const data = (b64: string | undefined) => (b64 === undefined ? undefined : Buffer.from(b64, "base64"));
  const access: KubeAccess = {
    server: cluster.server.replace(/\/+$/, ""),
    ca: data(cluster["certificate-authority-data"]) ?? read(cluster["certificate-authority"]),
    cert: data(user["client-certificate-data"]) ?? read(user["client-certificate"]),
    key: data(user["client-key-data"]) ?? read(user["client-key"]),
    token: user.token ?? read(user.tokenFile)?.toString("utf8").trim(),
    insecure: cluster["insecure-skip-tls-verify"] === true,
    namespace: context.namespace ?? "default",
    source: `${file}, context ${name}`,
  };
  if (user.exec) Object.assign(access, execCredential(user.exec, env));
  return access;
}

/** Runs a kubeconfig's exec plugin and takes the token or client certificate it prints. */
function execCredential(exec: { command: string; args?: string[]; env?: { name: string; value: string }[] }, env: NodeJS.ProcessEnv): Partial<KubeAccess> {
  let out: string;
  try {
    out = execFileSync(exec.command, exec.args ?? [], { env: { ...env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])) }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  } catch (error) {
    throw new KubeConfigError(`the kubeconfig's exec plugin ${exec.command} failed: ${(error as Error).message.split("\n")[0]}`);
  }
  const status = (JSON.parse(out) as { status?: { token?: string; clientCertificateData?: string; clientKeyData?: string } }).status ?? {};
  return {
    ...(status.token ? { token: status.token } : {}),
    ...(status.clientCertificateData ? { cert: Buffer.from(status.clientCertificateData) } : {}),
    ...(status.clientKeyData ? { key: Buffer.from(status.clientKeyData) } : {}),
  };
}

/** GETs of the API, as the access allows. */
export class Kube {
  readonly access: KubeAccess;
  private readonly timeoutMs: number;
  constructor(access: KubeAccess, timeoutMs = 10_000) {
    this.access = access;
    this.timeoutMs = timeoutMs;
  }

  /** The body of GET `path` as text; a KubeApiError for an error status. */
  text(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.send(path, { timeoutMs: this.timeoutMs }, (chunk) => chunks.push(chunk)).then(() => resolve(Buffer.concat(chunks).toString("utf8")), reject);
    });
  }

  /**
   * PATCH `path` with `patch`: a JSON merge patch (an object) or a JSON patch (a list of operations).
   * A KubeApiError for an error status.
   */
  async patch(path: string, patch: object): Promise<void> {
    const type = Array.isArray(patch) ? "application/json-patch+json" : "application/merge-patch+json";
    await this.send(path, { timeoutMs: this.timeoutMs, method: "PATCH", body: { type, data: JSON.stringify(patch) } }, () => undefined);
  }

  /** DELETE `path`, its dependents in the background; false when it was not there (404). */
  async delete(path: string): Promise<boolean> {
    const body = { type: "application/json", data: JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" }) };
    try {
      await this.send(path, { timeoutMs: this.timeoutMs, method: "DELETE", body }, () => undefined);
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  }

  /**
   * GET `path` and hand each chunk of a 2xx body to `onChunk` as it arrives; resolves when the body
   * ends. A KubeApiError for an error status; an error when nothing arrives for `timeoutMs`; an
   * AbortError when `signal` fires.
   */
  private send(path: string, options: { timeoutMs: number; signal?: AbortSignal; method?: string; body?: { type: string; data: string } }, onChunk: (chunk: Buffer) => void): Promise<void> {
    const method = options.method ?? "GET";
    const { access } = this;
    const url = new URL(path, `${access.server}/`);
    const request = url.protocol === "http:" ? httpRequest : httpsRequest;
    const token = access.tokenFile && existsSync(access.tokenFile) ? readFileSync(access.tokenFile, "utf8").trim() : access.token;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: {
            accept: "application/json",
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(options.body ? { "content-type": options.body.type, "content-length": Buffer.byteLength(options.body.data) } : {}),
          },
          ...(url.protocol === "https:" ? { ca: access.ca, cert: access.cert, key: access.key, rejectUnauthorized: !access.insecure } : {}),
          timeout: options.timeoutMs,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const failed: Buffer[] = [];
          res.on("data", (c: Buffer) => (status >= 200 && status < 300 ? onChunk(c) : failed.push(c)));
          res.on("end", () => {
            if (status >= 200 && status < 300) return resolve();
            const body = Buffer.concat(failed).toString("utf8");
            let message = body.trim().slice(0, 300);
            try {
              // A Status object's message, or the reason a probe endpoint gives.
              const parsed = JSON.parse(body) as { message?: string; reason?: string; detail?: string };
              message = parsed.message ?? parsed.reason ?? parsed.detail ?? message;
            } catch {
              // not a Status object: the text as it came
            }
            reject(new KubeApiError(status, path, message, method));
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: nothing from ${access.server} within ${options.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(options.body?.data);
    });
  }

  /**
   * One watch of `path` (a list path with its query) from `resourceVersion`: each event as the API
   * server streams it, one JSON object a line, until the server ends the watch (after
   * `timeoutSeconds`), nothing arrives for `idleMs`, or `signal` fires.
   */
  async watchOnce<T>(path: string, resourceVersion: string, onEvent: (event: WatchEvent<T>) => void, options: { timeoutSeconds: number; idleMs: number; signal?: AbortSignal }): Promise<void> {
    const sep = path.includes("?") ? "&" : "?";
    const query = `watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}&timeoutSeconds=${options.timeoutSeconds}`;
    let rest = "";
    await this.send(`${path}${sep}${query}`, { timeoutMs: options.idleMs, signal: options.signal }, (chunk) => {
      rest += chunk.toString("utf8");
      let nl = rest.indexOf("\n");
      while (nl >= 0) {
        const line = rest.slice(0, nl).trim();
        rest = rest.slice(nl + 1);
        if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        nl = rest.indexOf("\n");
      }
    });
  }

  async get<T>(path: string): Promise<T> {
    return JSON.parse(await this.text(path)) as T;
  }

  /** The object, or undefined when the API says 404 (no such object, or no such kind installed). */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** The items of a list, across namespaces when `path` names none; a kind not installed lists nothing. */
  async list<T>(path: string, labelSelector?: string): Promise<T[]> {
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
    return (await this.find<{ items: T[] }>(`${path}${query}`))?.items ?? [];
  }
}

/** Metadata a watched object carries. */
export interface KubeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; deletionTimestamp?: string; creationTimestamp?: string };
}

const sleepFor = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Why a list cannot be read, in words for a reader who may fix it. */
export function listProblem(error: unknown, what: string): string {
  if (error instanceof KubeApiError) {
    if (error.status === 404) return `${what}: the API server has no such kind (is it installed?)`;
    if (error.status === 401) return `${what}: the API server does not accept this pod's token (401)`;
    if (error.status === 403) return `${what}: forbidden (403) — the frontend's Role does not allow it: ${error.message}`;
    return `${what}: ${error.status} ${error.message}`;
  }
  return `${what}: ${(error as Error).message}`;
}

/**
 * A list kept current by one watch: LIST, then WATCH from its resourceVersion, again from the last
 * one seen when the server ends the watch, a new LIST when the version is too old (410 Gone), and
 * after an error a LIST again with a growing pause (1 s doubling to 30 s) while `problem` says why.
 * `onChange` runs after every change the list sees.
 */
export class WatchedList<T extends KubeObject> {
  readonly items = new Map<string, T>();
  /** Why the list is not current now; undefined while it is. */
  problem: string | undefined = "not read yet";
  private readonly controller = new AbortController();

  private readonly kube: Kube;
  /** A list path, with its labelSelector or fieldSelector query. */
  readonly path: string;
  /** What the list holds, for `problem`. */
  readonly what: string;
  private readonly onChange: () => void;
  private readonly timing: { watchSeconds: number; maxPauseMs: number };

  constructor(kube: Kube, path: string, what: string, onChange: () => void, timing = { watchSeconds: 290, maxPauseMs: 30_000 }) {
    this.kube = kube;
    this.path = path;
    this.what = what;
    this.onChange = onChange;
    this.timing = timing;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.controller.abort();
  }

  private key(o: T): string {
    return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let pause = 1000;
    while (!signal.aborted) {
      try {
        const list = await this.kube.get<{ items: T[]; metadata: { resourceVersion: string } }>(this.path);
        this.items.clear();
        for (const item of list.items) this.items.set(this.key(item), item);
        this.problem = undefined;
        this.onChange();
        pause = 1000;
        let version = list.metadata.resourceVersion;
        let gone = false;
        let failure: string | undefined;
        while (!signal.aborted && !gone) {
          await this.kube.watchOnce<T & { code?: number; message?: string }>(
            this.path,
            version,
            (event) => {
              if (event.type === "ERROR") {
                // 410: the version is older than the server keeps; anything else: start over as well.
                gone = true;
                if (event.object.code !== 410) failure = `the watch failed: ${event.object.message ?? "no message"}`;
                return;
              }
              if (gone) return;
              version = event.object.metadata.resourceVersion ?? version;
              if (event.type === "BOOKMARK") return;
              if (event.type === "DELETED") this.items.delete(this.key(event.object));
              else this.items.set(this.key(event.object), event.object);
              this.onChange();
            },
            { timeoutSeconds: this.timing.watchSeconds, idleMs: (this.timing.watchSeconds + 30) * 1000, signal },
          );
        }
        if (failure) throw new Error(failure);
      } catch (error) {
        if (signal.aborted) return;
        this.problem = listProblem(error, this.what);
        this.onChange();
        await sleepFor(pause, signal);
        pause = Math.min(this.timing.maxPauseMs, pause * 2);
      }
    }
  }
}
